"""A PostgreSQL cluster of the test's own (ports 5440-5449, trust authentication, its
socket in its own folder), which a test can stop as an operator's restart does and start
again; Waihu's schema migrated into it; and this process's default database pointed at it
for the test's length."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

PORTS = range(5440, 5450)
DATABASE = "waihu"


def binaries() -> Path | None:
    """The folder of the newest installed PostgreSQL's initdb and pg_ctl (Debian keeps them
    off the PATH), or None."""
    found = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    if found and (found[-1] / "initdb").exists():
        return found[-1]
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return None


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port for a private PostgreSQL in {PORTS.start}-{PORTS.stop - 1}")


class PostgresServer:
    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        # PostgreSQL refuses to run as root: as root the cluster belongs to the postgres
        # user, in a folder of its own outside pytest's (which only root may enter).
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="waihu-pg-"))
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"
        self.running = False

    def _run(self, *command: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr, self.log_text())

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def create(self) -> None:
        """A new cluster, started, with an empty database for Waihu."""
        self._run(
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        self.start()
        self._run(
            str(self.bin_dir / "createdb"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--username",
            "postgres",
            DATABASE,
        )

    def start(self) -> None:
        """Starts the cluster and waits until it accepts connections."""
        assert not self.running
        # Durability is not under test (a fast stop writes everything out), speed is.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "start",
            "--pgdata",
            str(self.data),
            "--log",
            str(self.log),
            "--options",
            options,
            "--wait",
            "--timeout",
            "60",
            timeout=90,
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stops the cluster as an operator's restart does (fast: open transactions are
        rolled back and every connection is cut)."""
        if not self.running:
            return
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "stop",
            "--pgdata",
            str(self.data),
            "--mode",
            mode,
            "--wait",
            "--timeout",
            "60",
            timeout=90,
        )
        self.running = False

    def restart(self, down_seconds: float = 0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def migrate(self) -> None:
        """Waihu's schema, as `manage.py migrate` gives it in production."""
        from django.conf import settings

        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": self.url},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def remove(self) -> None:
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def settings_for(url: str) -> dict:
    """The default database's settings for `url`, as config/settings.py makes them from
    DATABASE_URL, with the test run's habit of closing connections after each request."""
    import dj_database_url

    db = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    db.setdefault("OPTIONS", {})["connect_timeout"] = 5
    db["TEST"] = {"NAME": db["NAME"]}
    return db


def _forget_default() -> None:
    """The default connection object holds its backend: this thread's is made again, from
    the settings as they are now, when next asked for (other threads' are made afresh for
    each live-server request)."""
    from django.db import connections

    with contextlib.suppress(Exception):
        connections["default"].close()
    with contextlib.suppress(AttributeError):
        del connections["default"]


@contextlib.contextmanager
def default_database(url: str):
    """This process's default database (the test's own queries, the live server's
    requests, and the workers a test starts, which take database_url()) is the one at
    `url` until the block ends."""
    from django.db import connections

    configured = connections.settings["default"]
    before = dict(configured)
    _forget_default()
    configured.clear()
    configured.update(settings_for(url))
    connections.configure_settings(connections.settings)
    try:
        yield
    finally:
        _forget_default()
        configured.clear()
        configured.update(before)


@pytest.fixture
def private_postgres():
    bin_dir = binaries()
    if bin_dir is None:
        from tests.conftest import require

        require(False, "PostgreSQL's initdb and pg_ctl are not installed")
    server = PostgresServer(bin_dir)
    try:
        server.create()
        yield server
    finally:
        server.remove()
