"""API benchmarks on PostgreSQL (a throwaway schema of DATABASE_URL's database), the API
served by gunicorn as in production:

- api_contacts_rows_per_s: WAIHU_BENCH_API_ROWS (100,000) contacts of a realistic list
  (bench_import's rows: ~2% invalid numbers, ~5% repeats) pushed in batches of 10,000; the
  CSV import of the same rows is measured in the same run (import_csv_rows_per_s here) and
  api_vs_csv is their ratio (goal: at least 0.5);
- api_results_rows_per_s: as many completed interviews (five answers each) read through the
  results cursor, page by page (goal: at least 20,000 a second);
- events_per_s: WAIHU_BENCH_API_EVENTS (10,000) "interview completed" events delivered,
  signed, by two Celery workers to a local receiver (goal: at least 500 a second).

WAIHU_BENCH_API_ROWS and WAIHU_BENCH_API_EVENTS make a smaller run."""

import contextlib
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.bench.bench_dialer import ROOT, _free_port
from tests.bench.bench_import import HEADER, generate_rows
from tests.bench.bench_pages import _server_env
from tests.bench.children import drop_schema, run_child

ROWS = int(os.environ.get("WAIHU_BENCH_API_ROWS", "100000"))
EVENTS = int(os.environ.get("WAIHU_BENCH_API_EVENTS", "10000"))
BATCH = 10_000
PAGE = 5_000
SERVER_WORKERS = int(os.environ.get("WAIHU_BENCH_API_SERVER_WORKERS", "2"))
EVENT_WORKERS = 2
EVENT_THREADS = int(os.environ.get("WAIHU_BENCH_API_EVENT_THREADS", "8"))


def _say(name: str, value: float, unit: str) -> None:
    print(f"bench: {name} {value:.1f} {unit}", flush=True)


# --- the child processes ---------------------------------------------------------------


def _django(isolated: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    if isolated:
        settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c search_path={os.environ['WAIHU_BENCH_SCHEMA']}"
        )
    import django

    django.setup()


def _campaign(user, title: str, **fields):
    import datetime

    from outbound.models import WorkOrder

    today = datetime.date.today()
    return WorkOrder.objects.create(
        title=title,
        kind=WorkOrder.Kind.SATISFACTION,
        background="-",
        purpose="-",
        target_description="-",
        expected_contacts=ROWS,
        desired_start=today,
        desired_end=today,
        requester=user,
        department=user.department,
        run_status=WorkOrder.RunStatus.READY,
        **fields,
    )


def _questionnaire():
    """Five questions of a complaint callback."""
    from surveys import services
    from surveys.demo import DEMO_PARTS
    from surveys.models import QuestionType
    from surveys.presets import Preset

    version = services.questionnaire_create(name="Bench API")
    services.version_update_parts(version=version, **DEMO_PARTS)
    for text in ("处理结果满意度", "服务态度满意度"):
        services.question_add(
            version=version, type=QuestionType.SCALE, preset=Preset.SATISFACTION_5, text=text
        )
    single = services.question_add(version=version, type=QuestionType.SINGLE, text="处理时长")
    for label in ("一天内", "三天内", "一周内", "更久"):
        services.choice_add(question=single, label=label)
    several = services.question_add(version=version, type=QuestionType.MULTIPLE, text="问题所在")
    for label in ("信号", "资费", "营业厅", "热线"):
        services.choice_add(question=several, label=label)
    services.question_add(version=version, type=QuestionType.YES_NO, text="问题是否已解决？")
    services.version_publish(version=version)
    version.refresh_from_db()
    return version


def _copy(cursor, model, columns: list[str], rows) -> int:
    count = 0
    with cursor.cursor.copy(
        f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"  # our own names
    ) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    table = model._meta.db_table
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
        f"(SELECT MAX(id) FROM {table}))"
    )
    cursor.execute(f"ANALYZE {table}")
    return count


def _interviews(cursor, campaign, version, count: int) -> dict:
    """`count` completed interviews of `campaign`, five answers each, written with COPY."""
    from outbound.models import Contact, Interview
    from surveys.models import Answer, AnswerChoice, Question, Response

    rng = random.Random(20261202)
    questions = list(Question.objects.filter(version=version).order_by("position"))
    choices = {q.pk: [c.pk for c in q.choices.order_by("position")] for q in questions}
    start = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    moments = [start + timedelta(seconds=n * 7) for n in range(count)]
    made = {}
    made["contacts"] = _copy(
        cursor,
        Contact,
        ["id", "campaign_id", "phone", "name", "brand", "region", "segment", "attributes",
         "created_at"],
        ((n + 1, campaign.pk, f"+86139{n:08d}", f"客户{n}", "全球通", "长沙", "", '{"case": "'
          + f"T{n}" + '"}', start) for n in range(count)),
    )  # fmt: skip
    made["responses"] = _copy(
        cursor,
        Response,
        ["id", "version_id", "status", "started_at", "finished_at", "reference"],
        ((n + 1, version.pk, "completed", moments[n], moments[n], "") for n in range(count)),
    )
    answers, picked = [], []
    for n in range(count):
        for q in questions:
            answer_id = len(answers) + 1
            answers.append((answer_id, n + 1, q.pk, "", "", moments[n]))
            options = choices[q.pk]
            taken = rng.sample(options, rng.randint(1, 2)) if q.type == "multiple" else options
            if q.type != "multiple":
                taken = [rng.choice(options)]
            picked += [(len(picked) + 1 + i, answer_id, q.pk, c, "") for i, c in enumerate(taken)]
    made["answers"] = _copy(
        cursor,
        Answer,
        ["id", "response_id", "question_id", "text", "special", "answered_at"],
        answers,
    )
    made["choices"] = _copy(
        cursor,
        AnswerChoice,
        ["id", "answer_id", "question_id", "choice_id", "specify_text"],
        picked,
    )
    made["interviews"] = _copy(
        cursor,
        Interview,
        ["id", "campaign_id", "contact_id", "response_id", "channel", "agent_call_sid",
         "agent_call_status", "disposition", "notes", "started_at", "updated_at", "closed_at"],
        ((n + 1, campaign.pk, n + 1, n + 1, "voice", "", "", "completed", "", moments[n],
          moments[n], moments[n]) for n in range(count)),
    )  # fmt: skip
    return made


def child_setup(work: Path) -> dict:
    _django(isolated=False)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{os.environ["WAIHU_BENCH_SCHEMA"]}"')
    connection.close()
    from django.conf import settings

    settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c search_path={os.environ['WAIHU_BENCH_SCHEMA']}"
    )
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from accounts.models import Department, User
    from api.models import Integration, Scope
    from api.services import integration_issue_token

    started = time.perf_counter()
    department = Department.objects.create(name="Bench", code="bench")
    user = User.objects.create(username="bench", department=department)
    integration = Integration.objects.create(
        name="bench", scopes=list(Scope.values), requester=user, rate_limit_per_minute=1_000_000
    )
    integration.departments.set([department])
    token = integration_issue_token(integration=integration)
    pushed = _campaign(user, "Bench API push")
    version = _questionnaire()
    results = _campaign(user, "Bench API results", questionnaire=version)
    with connection.cursor() as cursor:
        made = _interviews(cursor, results, version, ROWS)
    return {
        "token": token,
        "pushed": pushed.pk,
        "results": results.pk,
        "made": made,
        "seconds": time.perf_counter() - started,
    }


def child_events(work: Path, url: str, count: str, queue: str) -> dict:
    """`count` events of a completed interview recorded for a subscription to `url`, their
    deliveries queued on the broker as a backlog; returns when the last was queued."""
    _django()
    from django.conf import settings
    from django.utils import timezone

    from api.models import Delivery, Event, Subscription
    from api.results import completed_page
    from api.services import subscription_create
    from api.tasks import queue as queue_deliveries
    from config.celery import app
    from outbound.models import WorkOrder

    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    settings.WAIHU_API_RESULTS_SETTLE_SECONDS = 0
    subscription = subscription_create(
        name="bench receiver", url=url, events=["interview.completed"]
    )
    campaign = WorkOrder.objects.get(title="Bench API results")
    sample, _cursor = completed_page(campaign=campaign, after=None, limit=1)
    data = json.loads(json.dumps({"campaign": campaign.pk, "interview": sample[0]}, default=str))
    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(type="interview.completed", campaign=campaign, data=data, occurred_at=now)
            for _n in range(int(count))
        ],
        batch_size=2000,
    )
    deliveries = Delivery.objects.bulk_create(
        [Delivery(subscription=subscription, event=e, created_at=now) for e in events],
        batch_size=2000,
    )
    started = time.time()
    # Queued as the sweep queues a backlog (a receiver back after a while).
    queue_deliveries([d.pk for d in deliveries])
    return {
        "started": started,
        "queued_seconds": time.time() - started,
        "subscription": subscription.pk,
        "secret": Subscription.objects.get(pk=subscription.pk).secret,
    }


def child_delivered(work: Path, subscription: str) -> dict:
    _django()
    from django.db.models import Count, Max

    from api.models import Delivery

    rows = Delivery.objects.filter(subscription_id=int(subscription))
    counts = dict(rows.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    last = rows.aggregate(last=Max("delivered_at"))["last"]
    return {"counts": counts, "last": last.timestamp() if last else None}


def child_check_push(work: Path, campaign: str) -> dict:
    _django()
    from api.models import ContactBatch
    from outbound.models import Contact

    return {
        "stored": Contact.objects.filter(campaign_id=int(campaign)).count(),
        "batches": ContactBatch.objects.filter(campaign_id=int(campaign)).count(),
    }


def child_teardown(work: Path) -> dict:
    _django(isolated=False)
    drop_schema()
    return {}


CHILDREN = {
    "setup": child_setup,
    "events": child_events,
    "delivered": child_delivered,
    "check_push": child_check_push,
    "teardown": child_teardown,
}


def _child(action: str, work: Path, *args: str) -> dict:
    return run_child("tests.bench.bench_api", action, work, *args)


# --- the measurements ------------------------------------------------------------------


def _serve(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(SERVER_WORKERS), "--timeout", "600",
         "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/telephony/health/", timeout=2)
            return server
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def _contacts() -> list[dict]:
    return [
        {"phone": phone, "name": name, "brand": brand, "region": region, "segment": segment}
        for phone, name, brand, region, segment, *_rest in generate_rows(ROWS)
    ]


def _push(session, base: str, campaign: int, contacts: list[dict]) -> dict:
    accepted = rejected = 0
    seconds = 0.0
    for first in range(0, len(contacts), BATCH):
        body = json.dumps({"contacts": contacts[first : first + BATCH]}, ensure_ascii=False)
        started = time.perf_counter()
        response = session.post(
            f"{base}/api/v1/campaigns/{campaign}/contacts",
            data=body.encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": f"b{first}"},
            timeout=600,
        )
        seconds += time.perf_counter() - started
        response.raise_for_status()
        outcome = response.json()
        accepted += outcome["accepted"]
        rejected += len(outcome["rejected"])
    return {"seconds": seconds, "accepted": accepted, "rejected": rejected}


def _read(session, base: str, campaign: int) -> dict:
    seen, cursor, pages = set(), None, 0
    started = time.perf_counter()
    while True:
        params = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        response = session.get(
            f"{base}/api/v1/campaigns/{campaign}/interviews", params=params, timeout=600
        )
        response.raise_for_status()
        page = response.json()
        pages += 1
        seen.update(i["id"] for i in page["interviews"])
        cursor = page["cursor"]
        if not page["more"]:
            break
    seconds = time.perf_counter() - started
    assert len(seen) == ROWS, len(seen)
    return {"seconds": seconds, "pages": pages, "interviews": len(seen)}


class _Receiver:
    """A local receiver that answers 204 and counts what it got."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _workers(env: dict, queue: str, work: Path) -> list[subprocess.Popen]:
    from config.queues import queue_names

    workers = []
    for n in range(EVENT_WORKERS):
        log = open(work / f"worker-{n}.log", "wb")  # noqa: SIM115
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--hostname",
                 f"bench{n}@%h", "--pool", "threads", "--concurrency", str(EVENT_THREADS),
                 "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle",
                 "--without-gossip", "--queues", ",".join(queue_names(queue))],
                cwd=ROOT,
                env={**env, "WAIHU_CELERY_QUEUE": queue, "CELERY_TASK_ALWAYS_EAGER": "false"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    return workers


def _events(work: Path, env: dict) -> dict:
    queue = f"bench-api-{uuid.uuid4().hex[:8]}"
    receiver = _Receiver()
    workers = _workers(env, queue, work)
    try:
        time.sleep(5)  # the workers start listening
        queued = _child("events", work, receiver.url, str(EVENTS), queue)
        deadline = time.monotonic() + max(600, EVENTS / 5)
        while time.monotonic() < deadline and receiver.count < EVENTS:
            time.sleep(0.2)
        done = _child("delivered", work, str(queued["subscription"]))
        delivered = done["counts"].get("delivered", 0)
        seconds = (done["last"] or time.time()) - queued["started"]
        return {
            "delivered": delivered,
            "received": receiver.count,
            "seconds": seconds,
            "queued_seconds": queued["queued_seconds"],
        }
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        receiver.close()


def main() -> None:
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres", "pgsql")):
        print("# api: measured on PostgreSQL only (set DATABASE_URL)", flush=True)
        return
    import requests

    schema = f"bench_api_{os.getpid()}"
    os.environ["WAIHU_BENCH_SCHEMA"] = schema
    print(f"# database: postgresql; {ROWS:,} rows, {EVENTS:,} events", flush=True)
    with tempfile.TemporaryDirectory(prefix="waihu-bench-api-") as tmp:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        server = None
        try:
            setup = _child("setup", work)
            print(f"# data: {json.dumps(setup['made'])} in {setup['seconds']:.0f} s", flush=True)
            contacts = _contacts()
            listed = media / "list.csv"
            with open(listed, "w", encoding="gb18030", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(HEADER)
                writer.writerows(generate_rows(ROWS))
            port = _free_port()
            env = _server_env(work, schema, port)
            server = _serve(env, port)
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {setup['token']}"

            pushed = _push(session, base, setup["pushed"], contacts)
            stored = _child("check_push", work, str(setup["pushed"]))
            assert stored["stored"] == pushed["accepted"], (stored, pushed)
            imported = run_child("tests.bench.bench_import", "import", work, str(listed), "csv")
            assert imported["imported"] == pushed["accepted"], (imported, pushed)
            print(f"# push: {json.dumps(pushed)}; csv import: {json.dumps(imported)}", flush=True)
            api_rate = ROWS / pushed["seconds"]
            csv_rate = imported["rows"] / imported["seconds"]
            _say("api_contacts_rows_per_s", api_rate, "rows/s")
            _say("import_csv_rows_per_s_same_run", csv_rate, "rows/s")
            print(f"bench: api_vs_csv {api_rate / csv_rate:.2f} ratio", flush=True)

            read = _read(session, base, setup["results"])
            print(f"# results: {json.dumps(read)}", flush=True)
            _say("api_results_rows_per_s", read["interviews"] / read["seconds"], "interviews/s")

            server.terminate()
            server.wait(timeout=30)
            server = None
            sent = _events(work, env)
            print(f"# events: {json.dumps(sent)}", flush=True)
            assert sent["delivered"] == EVENTS, sent
            _say("events_per_s", sent["delivered"] / sent["seconds"], "events/s")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            _child("teardown", work)


if __name__ == "__main__":
    action, work, *rest = sys.argv[1:]
    print(json.dumps(CHILDREN[action](Path(work), *rest)))
