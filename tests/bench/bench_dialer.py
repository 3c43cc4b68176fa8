"""Dialer benchmark against the configured database (PostgreSQL when DATABASE_URL names it,
else SQLite), the sandbox served by gunicorn on 127.0.0.1:

- dialer_calls_per_s: 20,000 due contacts claimed, their attempts created and their calls
  handed to the Twilio SDK (pointed at the sandbox's Calls endpoint), per second;
- dialer_queries_per_call: the dialer's database queries per call placed.

The data lives in a throwaway PostgreSQL schema (or a throwaway SQLite file), dropped at the
end. WAIHU_BENCH_CONTACTS changes the number of contacts."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = int(os.environ.get("WAIHU_BENCH_CONTACTS", "20000"))
DIALERS = int(os.environ.get("WAIHU_BENCH_DIALERS", "2"))
SERVER_WORKERS = int(os.environ.get("WAIHU_BENCH_SERVER_WORKERS", "4"))


def say(name: str, value: float, unit: str) -> None:
    print(f"bench: {name} {value:.2f} {unit}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """A throwaway database, migrated, and gunicorn serving Waihu on it."""

    def __init__(self, work: Path, name: str):
        self.work = work
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        configured = os.environ.get("DATABASE_URL", "")
        self.schema = None
        if configured.startswith(("postgres", "pgsql")):
            self.schema = f"{name}_{os.getpid()}"
            separator = "&" if "?" in configured else "?"
            self.database_url = f"{configured}{separator}options=-c%20search_path%3D{self.schema}"
        else:
            self.database_url = f"sqlite:///{work / 'bench.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "WAIHU_PUBLIC_BASE_URL": self.base,
            "WAIHU_SANDBOX_PLAY": "false",
            "WAIHU_MEDIA_ROOT": str(work / "media"),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "bench-" + "k" * 44,
            "WAIHU_LOG_LEVEL": "WARNING",
            # The bench measures Waihu's own speed, not an account's calls per second.
            "WAIHU_ACCOUNT_CPS": "1000000",
            "WAIHU_SANDBOX_CPS": "1000000",
        }
        self.server = None

    def vendor(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    def __enter__(self):
        if self.schema:
            self._psql(f'CREATE SCHEMA "{self.schema}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        return self

    def serve(self, workers: int) -> None:
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.base}/telephony/health/", timeout=2)  # noqa: S310
                return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=20)
        if self.schema:
            self._psql(f'DROP SCHEMA "{self.schema}" CASCADE')

    def _psql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            connection.execute(statement)

    def child(self, module: str, action: str, *args: str) -> dict:
        completed = subprocess.run(
            [sys.executable, "-m", module, action, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr[-3000:])
        return json.loads(completed.stdout.strip().splitlines()[-1])


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def make_campaign(contacts: int) -> int:
    """An approved, running campaign with `contacts` due contacts."""
    from outbound.dialer import services
    from outbound.models import CampaignSettings, Contact, WorkOrder
    from tests.factories import Org, make_order

    org = Org()
    order = make_order(org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    Contact.objects.bulk_create(
        (Contact(campaign=order, phone=f"+86138{n:08d}") for n in range(contacts)),
        batch_size=2000,
    )
    CampaignSettings.objects.update_or_create(
        campaign=order,
        defaults={
            "weekly_hours": {str(day): ["00:00", "23:59"] for day in range(1, 8)},
            "calls_per_second": 1_000_000.0,
            "max_concurrent": 10_000_000,
        },
    )
    services.campaign_start(campaign=order, user=org.outbound_admin)
    return order.pk


def dial(campaign_id: int) -> dict:
    """Runs the dialer until every contact has its call; counts time and queries."""
    from django.conf import settings
    from django.db import connection

    from config.celery import app
    from outbound.dialer import services

    settings.WAIHU_DIALER_BATCH_SIZE = 500
    settings.WAIHU_DIALER_PLACE_THREADS = 16
    app.conf.task_always_eager = True
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        for _round in range(CONTACTS):  # bounded: every round claims at least one contact
            if not services.campaign_dial(campaign_id=campaign_id):
                break
    return {"seconds": time.perf_counter() - started, "queries": queries}


def _child_main(action: str, *args: str) -> dict:
    django_setup()
    if action == "setup":
        return {"campaign": make_campaign(int(args[0]))}
    if action == "dial":
        return dial(int(args[0]))
    if action == "placed":
        from outbound.models import CallAttempt

        return {
            "placed": CallAttempt.objects.filter(campaign_id=int(args[0]))
            .exclude(call_sid=None)
            .count()
        }
    raise SystemExit(f"unknown action {action}")


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="waihu-bench-dialer-") as tmp,
        Stack(Path(tmp), "bench_dialer") as stack,
    ):
        print(f"# database: {stack.vendor()}; {CONTACTS:,} contacts", flush=True)
        campaign = stack.child("tests.bench.bench_dialer", "setup", str(CONTACTS))["campaign"]
        stack.serve(workers=SERVER_WORKERS)
        # Dialers in several processes, as several Celery workers would run them.
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=DIALERS) as pool:
            results = list(
                pool.map(
                    lambda _n: stack.child("tests.bench.bench_dialer", "dial", str(campaign)),
                    range(DIALERS),
                )
            )
        seconds = time.perf_counter() - started
        print(f"# dial: {json.dumps(results)}", flush=True)
        placed = stack.child("tests.bench.bench_dialer", "placed", str(campaign))["placed"]
        queries = sum(result["queries"] for result in results)
        say("dialer_calls_per_s", placed / seconds, "calls/s")
        say("dialer_queries_per_call", queries / max(placed, 1), "queries")


if __name__ == "__main__":
    print(json.dumps(_child_main(*sys.argv[1:])))
