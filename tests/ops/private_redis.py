"""A Redis server of the test's own (ports 6390-6399), configured as production's broker
should be (an append-only file, no snapshots), which a test can stop and start again; and
the Celery app pointed at it for the test's length."""

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from config.celery import app

PORTS = range(6390, 6400)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port for a private Redis in {PORTS.start}-{PORTS.stop - 1}")


class RedisServer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Starts the server on its port and folder (its append-only file read back) and
        waits until it answers."""
        assert self.process is None
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.answers():
                return
            assert self.process.poll() is None, (self.folder / "redis.log").read_text()
            time.sleep(0.05)
        raise AssertionError("the private Redis did not answer within 20 s")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stops the server as an operator's restart does (SIGTERM: Redis writes its
        append-only file out and exits)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _reset_pools() -> None:
    """Celery keeps its connections and producers pooled per process: forget them, so the
    next publish connects to the broker now configured."""
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def celery_broker(url: str, settings):
    """The Celery app of this process, and the workers a test starts (they read
    settings.CELERY_BROKER_URL), use the broker at `url` until the block ends; tasks are
    sent, not run inline."""
    before = (app.conf.broker_url, app.conf.task_always_eager)
    # Celery reads the environment's CELERY_BROKER_URL before its configuration.
    environ = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    _reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = before
        if environ is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = environ
        _reset_pools()


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        from tests.conftest import require

        require(False, "redis-server is not installed")
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()
