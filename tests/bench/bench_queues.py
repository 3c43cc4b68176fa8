"""Dialling under load, against the configured database and broker (PostgreSQL and Redis
when DATABASE_URL and CELERY_BROKER_URL name them, else SQLite for both), the sandbox
served by gunicorn:

- dial_delay_under_load_s: with two 100,000-row contact imports running and an export
  queued behind them, how late the dialer's tick starts after it is sent (the worst of
  five ticks sent two seconds apart, as beat sends them), with one worker per queue group
  as the Procfile runs them; the goal is under 2 s;
- dial_delay_under_load_one_worker_s: the same with a single worker of concurrency 2
  serving every queue (the layout before queues by kind), for comparison;
- first_call_under_load_s: from the first tick sent to the first call handed to the
  carrier, one worker per queue group.

Each layout runs on its own queues in a throwaway database (a PostgreSQL schema or a
SQLite file), dropped at the end. WAIHU_BENCH_IMPORT_ROWS changes the imports' length."""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_dialer import ROOT, Stack, django_setup, say

ROWS = int(os.environ.get("WAIHU_BENCH_IMPORT_ROWS", "100000"))
TICKS = 5
TICK_SECONDS = 2.0
LAYOUTS = {
    # name: [(worker name, queue groups, pool, concurrency)]
    "per_group": [
        ("calls", ("calls",), "threads", 8),
        ("bulk", ("bulk",), "prefork", 2),
        ("mail", ("mail", ""), "threads", 2),
    ],
    "one_worker": [("all", ("calls", "bulk", "mail", ""), "prefork", 2)],
}


def _setup(work: Path) -> dict:
    """A running automated campaign, two queued imports and a queued export."""
    from accounts.roles import Role
    from outbound.contacts.readers import open_table
    from outbound.models import ContactImport
    from reports.models import ExportJob
    from tests.bench.bench_dialer import make_campaign
    from tests.bench.bench_import import MAPPING, generate_rows
    from tests.factories import UserFactory

    campaign = make_campaign(2000)
    from outbound.models import WorkOrder

    order = WorkOrder.objects.get(pk=campaign)
    media = work / "media"
    imports = []
    for n in range(2):
        relative = f"contact_imports/bench-{n}.csv"
        path = media / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["phone", "name", "brand", "region", "segment", "plan", "joined"])
            writer.writerows(generate_rows(ROWS, seed=n + 1))
        with open_table(str(path), "csv") as table:
            header, encoding = table.header, table.encoding
        imports.append(
            ContactImport.objects.create(
                campaign=order,
                uploaded_by=order.requester,
                file=relative,
                original_name=path.name,
                file_format="csv",
                encoding=encoding,
                header=header,
                mapping=MAPPING,
                status=ContactImport.Status.QUEUED,
            ).pk
        )
    from tests.surveys.factories import english_questionnaire

    analyst = UserFactory(username="bench-analyst", roles=[Role.ANALYST])
    version = english_questionnaire(created_by=analyst)
    export = ExportJob.objects.create(version=version, created_by=analyst).pk
    return {"campaign": campaign, "imports": imports, "export": export}


def _start_workers(layout: str, work: Path) -> list:
    from django.conf import settings

    from config.queues import queue_name

    processes = []
    for name, groups, pool, concurrency in LAYOUTS[layout]:
        queues = ",".join(queue_name(group) for group in groups)
        log = open(work / f"worker-{layout}-{name}.log", "wb")  # noqa: SIM115
        command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        command += ["--hostname", f"{name}@%h", "--queues", queues, "--pool", pool]
        command += ["--concurrency", str(concurrency), "--loglevel", "WARNING"]
        command += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append((process, log))
    return processes


def _wait(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return None


def measure(layout: str, work: str) -> dict:
    django_setup()
    import datetime

    from ops.broker import queues_declare
    from ops.models import Heartbeat
    from outbound.contacts.tasks import contact_import_run
    from outbound.dialer import tasks
    from outbound.models import CallAttempt, ContactImport
    from reports.tasks import export_build_task

    folder = Path(work)
    data = _setup(folder)
    queues_declare()
    processes = _start_workers(layout, folder)
    try:
        for pk in data["imports"]:
            contact_import_run.delay(pk)
        export_build_task.delay(data["export"])
        running = _wait(
            lambda: (
                ContactImport.objects.filter(pk__in=data["imports"], status="running").count() == 2
            ),
            180,
        )
        if not running:
            raise RuntimeError("the imports did not start")
        delays, first_call, began = [], None, time.time()
        for n in range(TICKS):
            sent = time.time()
            tasks.dial_due.apply_async()
            after = datetime.datetime.fromtimestamp(sent - 0.001, datetime.UTC)
            tick = _wait(
                lambda after=after: Heartbeat.objects.filter(
                    name="dialer-tick", seen_at__gt=after
                ).first(),
                300,
            )
            if tick is None:
                raise RuntimeError(f"tick {n} never started")
            delays.append(tick.details["started_at"] - sent)
            if first_call is None and CallAttempt.objects.exclude(call_sid=None).exists():
                first_call = time.time() - began
            time.sleep(max(0.0, sent + TICK_SECONDS - time.time()))
        if first_call is None:
            _wait(lambda: CallAttempt.objects.exclude(call_sid=None).exists(), 120)
            first_call = time.time() - began
        still_running = ContactImport.objects.filter(
            pk__in=data["imports"], status="running"
        ).count()
        return {
            "layout": layout,
            "delays": delays,
            "worst": max(delays),
            "first_call": first_call,
            "imports_running_at_end": still_running,
        }
    finally:
        for process, _log in processes:
            process.terminate()
        for process, log in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def main() -> None:
    results = {}
    for layout in ("per_group", "one_worker"):
        with (
            tempfile.TemporaryDirectory(prefix="waihu-bench-queues-") as tmp,
            Stack(Path(tmp), f"bench_queues_{layout}") as stack,
        ):
            work = Path(tmp)
            stack.env.update(
                {
                    "WAIHU_CELERY_QUEUE": f"bench-{os.getpid()}-{layout}",
                    "WAIHU_MEDIA_ROOT": str(work / "media"),
                    "WAIHU_WORKER_HEARTBEAT_SECONDS": "1",
                    "WAIHU_LOG_LEVEL": "WARNING",
                }
            )
            if not os.environ.get("CELERY_BROKER_URL"):
                stack.env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{work / 'broker.sqlite3'}"
            if layout == "per_group":
                print(f"# database: {stack.vendor()}; imports of {ROWS:,} rows", flush=True)
            stack.serve(workers=2)
            results[layout] = stack.child("tests.bench.bench_queues", "measure", layout, tmp)
            print(f"# {layout}: {json.dumps(results[layout])}", flush=True)
    say("dial_delay_under_load_s", results["per_group"]["worst"], "s")
    say("dial_delay_under_load_one_worker_s", results["one_worker"]["worst"], "s")
    say("first_call_under_load_s", results["per_group"]["first_call"], "s")


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[2:])) if sys.argv[1] == "measure" else "")
