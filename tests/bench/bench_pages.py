"""Pages at the customer's scale, served by gunicorn, on the configured database (meant for
PostgreSQL: a throwaway schema of DATABASE_URL's database; else a throwaway SQLite file).

The data set, at full size (WAIHU_BENCH_PAGES_SCALE=1): 10,000 work orders (half of them
waiting for the outbound administrator), 20 departments, 100 users, 50 running campaigns of
which two have 100,000 contacts and the others 1,000, every contact in its dialing queue,
300,000 call attempts with three status events each, 100,000 completed interviews of the
twenty-question questionnaire of bench_reports (two million answers) on the first large
campaign, their kept counts built, and 10,000 do-not-call and red-list entries. The answers
are written with COPY (bench_reports); the rest with INSERT … SELECT over generate_series
from one template row per table, so the load takes a few minutes, not an hour.

Each page is requested VIEWS (11) times after a first view; printed are its 95th
percentile as `page_p95_ms_<name>`, the slowest of the list and console pages as
pages_p95_max_ms (goal 300 ms), the slowest of the results pages (results, cross-tab,
analysis, index) as analytics_p95_max_ms (goal 800 ms), and the largest ratio of a page's
median at full size to its median on a tenth of the data as pages_growth_max (goal 1.5:
flat). WAIHU_BENCH_PAGES_SCALE scales everything down for a quick run (0.1 measures at a
tenth and a hundredth)."""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from tests.bench.bench_dialer import ROOT, _free_port
from tests.bench.children import run_child

SCALE = float(os.environ.get("WAIHU_BENCH_PAGES_SCALE", "1"))
VIEWS = int(os.environ.get("WAIHU_BENCH_PAGES_VIEWS", "11"))
WORKERS = int(os.environ.get("WAIHU_BENCH_PAGES_WORKERS", "2"))
ORDERS = 10_000
DEPARTMENTS = 20
USERS = 100
CAMPAIGNS = 50
LARGE = 100_000
SMALL = 1_000
LISTED = 10_000
INTERVIEWS = 100_000
ANALYTICS = ("results", "crosstab", "crosstab_brand", "results_narrowed", "analysis", "index")


def _n(full: int, scale: float) -> int:
    return max(1, round(full * scale))


# --- the data (in a child process, on the schema bench_reports' setup made) ---------------


def _insert(cursor, model, source: str, values: dict[str, str], params=(), template=None) -> int:
    """INSERT INTO the model's table one row per row of `source` (a FROM clause), each a
    copy of the table's template row (aliased tpl: `template`, else the first row) with
    `values` (SQL expressions) in place of its own. Returns the rows written."""
    from django.db import connection

    table = model._meta.db_table
    columns = [
        field.column
        for field in model._meta.concrete_fields
        if not (field.primary_key and field.get_internal_type() in ("AutoField", "BigAutoField"))
    ]
    exprs = [values.get(column, "tpl." + connection.ops.quote_name(column)) for column in columns]
    pk = model._meta.pk.column
    quoted = [connection.ops.quote_name(column) for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(quoted)}) "  # noqa: S608  (names from the models)
        f"SELECT {', '.join(exprs)} FROM {source} "
        f"CROSS JOIN (SELECT * FROM {table} "
        f"{'WHERE ' + pk + ' = ' + str(int(template)) if template is not None else ''} "
        f"ORDER BY {pk} LIMIT 1) AS tpl",
        list(params),
    )
    return cursor.rowcount


def child_load(work: Path, version_id: str, scale: str) -> dict:
    from tests.bench.bench_reports import _django

    _django(work)
    import datetime

    from django.contrib.auth.hashers import make_password
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Department, User
    from approvals.models import ApprovalRequest
    from outbound.agent import services as agent_services
    from outbound.models import (
        CallAttempt,
        CallEvent,
        CampaignSettings,
        Contact,
        DialState,
        DoNotCallEntry,
        Interview,
        RedListEntry,
        WorkOrder,
    )
    from reports.tallies import tallies_rebuild
    from surveys.models import QuestionnaireVersion, Response
    from tests.factories import Org, make_order

    scale = float(scale)
    started = time.perf_counter()
    org = Org()
    version = QuestionnaireVersion.objects.get(pk=int(version_id))
    now = timezone.now()
    today = timezone.localdate()
    departments = Department.objects.bulk_create(
        Department(name=f"部门 {n}", code=f"dept-{n}") for n in range(DEPARTMENTS)
    )
    password = make_password("pw")
    User.objects.bulk_create(
        User(username=f"user{n:03d}", password=password, department=departments[n % DEPARTMENTS])
        for n in range(USERS)
    )
    for user in (org.outbound_admin, org.agent, org.analyst):
        user.password = password
        user.save(update_fields=["password"])
    org.agent.phone = "+15005550100"
    org.agent.save(update_fields=["phone"])

    # Work orders, half waiting at the outbound administrator's step.
    template = make_order(org.requester, title="外呼工单 0")
    orders = _n(ORDERS, scale)
    dept_ids = ",".join(str(d.pk) for d in departments)
    with connection.cursor() as cursor:
        _insert(
            cursor,
            WorkOrder,
            "generate_series(1, %s) AS n",
            {
                "title": "'外呼工单 ' || n",
                "department_id": f"(ARRAY[{dept_ids}])[1 + n %% {DEPARTMENTS}]",
                "run_status": "'ready'",
            },
            [orders - 1],
            template=template.pk,
        )
    review = org.chain.steps.get(position=2)
    kind = ContentType.objects.get_for_model(WorkOrder)
    # The order's own request (made with it) is the template of the others.
    ApprovalRequest.objects.filter(subject_type=kind, subject_id=template.pk).update(
        status="in_progress",
        current_step=review,
        step_started_at=now,
        step_due_at=now + datetime.timedelta(hours=8),
        submitted_at=now,
    )
    with connection.cursor() as cursor:
        _insert(
            cursor,
            ApprovalRequest,
            f"(SELECT * FROM {WorkOrder._meta.db_table} WHERE id NOT IN "  # noqa: S608
            f"(SELECT subject_id FROM {ApprovalRequest._meta.db_table} "
            "WHERE subject_type_id = %s)) AS w",
            {
                "subject_id": "w.id",
                "title": "w.title",
                "status": "CASE WHEN w.id %% 2 = 1 THEN 'in_progress' ELSE 'approved' END",
                "current_step_id": "CASE WHEN w.id %% 2 = 1 THEN tpl.current_step_id END",
                "step_due_at": "tpl.step_started_at + (w.id %% 48) * interval '1 hour'",
            },
            [kind.pk],
        )

    # Fifty running campaigns: the first two large, on the results' questionnaire.
    campaign_ids = list(WorkOrder.objects.order_by("pk").values_list("pk", flat=True)[:CAMPAIGNS])
    WorkOrder.objects.filter(pk__in=campaign_ids).update(
        mode=WorkOrder.Mode.AGENTS, questionnaire=version, run_status=WorkOrder.RunStatus.READY
    )
    hours = {str(day): ["00:00", "23:59"] for day in range(1, 8)}
    CampaignSettings.objects.bulk_create(
        CampaignSettings(
            campaign_id=pk,
            state=CampaignSettings.State.RUNNING,
            weekly_hours=hours,
            calls_on_holidays=True,
        )
        for pk in campaign_ids
    )
    through = WorkOrder.team.through
    through.objects.bulk_create(through(workorder_id=pk, user=org.agent) for pk in campaign_ids)
    large, small = _n(LARGE, scale), _n(SMALL, scale)
    Contact.objects.create(campaign_id=campaign_ids[0], phone="+8613000000000", name="模板")
    contacts = Contact._meta.db_table
    with connection.cursor() as cursor:
        for position, pk in enumerate(campaign_ids):
            count = large if position < 2 else small
            _insert(
                cursor,
                Contact,
                "generate_series(1, %s) AS n",
                {
                    "campaign_id": str(pk),
                    "phone": f"'+86138' || lpad(({position} * 1000000 + n)::text, 8, '0')",
                    "name": "'客户 ' || n",
                    "attributes": '\'{"套餐": "畅享 128"}\'::jsonb',
                },
                [count],
            )
        cursor.execute(f"DELETE FROM {contacts} WHERE name = '模板'")  # noqa: S608
    # Every contact queued: those with interviews reached, some waiting, the rest finished.
    states = DialState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {states} (contact_id, campaign_id, status, attempts, "  # noqa: S608
            "next_attempt_at, callback_at, last_outcome, excluded_reason, updated_at) "
            "SELECT id, campaign_id, CASE WHEN id %% 3 = 0 THEN 'pending' ELSE 'finished' END, "
            "1 + id %% 2, CASE WHEN id %% 3 = 0 THEN now() END, NULL, 'no_answer', '', now() "
            f"FROM {contacts}",
            [],
        )
    # Call attempts: one or two on each contact of the two large campaigns, three events each.
    first = CallAttempt.objects.create(
        campaign_id=campaign_ids[0],
        contact=Contact.objects.filter(campaign_id=campaign_ids[0]).first(),
        number=1,
        to="+8613800000000",
        caller_id="+8673110086",
        status="completed",
        outcome="answered",
        duration=95,
        placed_at=now,
        finished_at=now,
    )
    template_event = CallEvent.objects.create(attempt=first, status="queued", occurred_at=now)
    attempts = _n(3 * LARGE, scale)
    with connection.cursor() as cursor:
        _insert(
            cursor,
            CallAttempt,
            f"(SELECT c.id, c.campaign_id, c.phone, k FROM {contacts} c "  # noqa: S608
            "CROSS JOIN generate_series(1, 2) AS k "
            "WHERE c.campaign_id IN (%s, %s) AND (k = 1 OR c.id %% 2 = 0) "
            "ORDER BY c.id, k LIMIT %s) AS s",
            {
                "campaign_id": "s.campaign_id",
                "contact_id": "s.id",
                "number": "s.k + 1",
                "to": "s.phone",
                "call_sid": "'CA' || md5(s.id::text || '-' || s.k)",
                "status": "CASE WHEN s.k = 1 THEN 'no-answer' ELSE 'completed' END",
                "outcome": "CASE WHEN s.k = 1 THEN 'no_answer' ELSE 'answered' END",
                "created_at": "now() - (s.id %% 1000) * interval '1 minute'",
            },
            [campaign_ids[0], campaign_ids[1], attempts - 1],
        )
        _insert(
            cursor,
            CallEvent,
            f"{CallAttempt._meta.db_table} AS a CROSS JOIN (VALUES (0, 'initiated'), "
            "(1, 'ringing'), (2, 'completed')) AS e(seq, name)",
            {
                "attempt_id": "a.id",
                "status": "e.name",
                "sequence": "e.seq",
                "occurred_at": "a.created_at + e.seq * interval '5 seconds'",
            },
        )
        cursor.execute(
            f"DELETE FROM {CallEvent._meta.db_table} WHERE id = %s",  # noqa: S608
            [template_event.pk],
        )
    # The completed interviews, on the first large campaign's contacts.
    responses = Response._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Interview._meta.db_table} (campaign_id, contact_id, response_id, "  # noqa: S608
            "channel, agent_id, attempt_id, agent_call_sid, agent_call_status, disposition, "
            "notes, callback_at, callback_agent_id, reserved_until, started_at, updated_at, "
            "closed_at) "
            "SELECT c.campaign_id, c.id, r.id, 'agent', %s, NULL, '', 'completed', 'completed', "
            "'', NULL, NULL, NULL, r.started_at, r.finished_at, r.finished_at "
            f"FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM {responses}) AS rr "
            f"JOIN {responses} r ON r.id = rr.id "
            f"JOIN (SELECT id, campaign_id, row_number() OVER (ORDER BY id) AS k FROM {contacts} "
            "WHERE campaign_id = %s) AS c ON c.k = rr.k",
            [org.agent.pk, campaign_ids[0]],
        )
        cursor.execute(
            f"UPDATE {states} SET status = 'reached', next_attempt_at = NULL "  # noqa: S608
            f"WHERE contact_id IN (SELECT contact_id FROM {Interview._meta.db_table})"
        )
    listed = _n(LISTED, scale)
    DoNotCallEntry.objects.bulk_create(
        (
            DoNotCallEntry(phone=f"+86139{n:08d}", source="upload", campaign_id=campaign_ids[n % 3])
            for n in range(listed)
        ),
        batch_size=2000,
    )
    RedListEntry.objects.bulk_create(
        (
            RedListEntry(
                phone=f"+86137{n:08d}",
                starts_on=today,
                ends_on=today + datetime.timedelta(days=300),
            )
            for n in range(listed)
        ),
        batch_size=2000,
    )
    tallies_rebuild(version=version)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a load this size
    # The agent holds a contact of the second large campaign (the first one's contacts
    # all have their interview), for the console's pages.
    held = agent_services.contact_reserve(
        campaign=WorkOrder.objects.get(pk=campaign_ids[1]), agent=org.agent
    )
    counts = {
        "orders": WorkOrder.objects.count(),
        "contacts": Contact.objects.count(),
        "attempts": CallAttempt.objects.count(),
        "events": CallEvent.objects.count(),
        "interviews": Interview.objects.count(),
        "users": User.objects.count(),
        "departments": Department.objects.count(),
    }
    return {
        "seconds": time.perf_counter() - started,
        "counts": counts,
        "campaign": campaign_ids[0],
        "interview": held.pk if held else None,
        "version": version.pk,
        "users": {
            "admin": org.outbound_admin.username,
            "agent": org.agent.username,
            "analyst": org.analyst.username,
        },
        "questions": list(version.questions.order_by("position").values_list("pk", flat=True)[:9]),
    }


# --- measuring, over HTTP ----------------------------------------------------------------


def _pages(made: dict) -> dict[str, tuple[str, dict]]:
    """name: (who looks, the query string); the paths come from _resolve."""
    single, scale = made["questions"][0], made["questions"][8]
    pages = {
        name: ("admin", {})
        for name in (
            "order_list",
            "inbox",
            "dnc_list",
            "red_list",
            "contacts",
            "campaign",
            "campaign_live",
            "supervisor",
        )
    }
    pages |= {"agent_campaigns": ("agent", {}), "agent_desk": ("agent", {})}
    if made.get("interview"):
        pages["agent_interview"] = ("agent", {})
    pages |= {
        "results": ("analyst", {}),
        "crosstab": ("analyst", {"row": single, "column": f"q:{scale}"}),
        "crosstab_brand": ("analyst", {"row": single, "column": "attr:brand"}),
        # Narrowed by a date: computed by a task at the first view, then read.
        "results_narrowed": ("analyst", {"date_from": "2020-01-01"}),
        "analysis": ("analyst", {}),
        "index": ("analyst", {}),
    }
    return pages


def _resolve(made: dict) -> dict:
    """The pages' real paths (the URL configuration's prefixes), asked of Django."""
    from django.urls import reverse

    found = {
        "order_list": reverse("outbound:order_list"),
        "inbox": reverse("approvals:inbox"),
        "dnc_list": reverse("contacts:dnc_list"),
        "red_list": reverse("contacts:red_list"),
        "contacts": reverse("contacts:campaign_contacts", args=[made["campaign"]]),
        "campaign": reverse("campaigns:detail", args=[made["campaign"]]),
        "campaign_live": reverse("campaigns:live", args=[made["campaign"]]),
        "supervisor": reverse("agent:supervisor"),
        "agent_campaigns": reverse("agent:campaigns"),
        "agent_desk": reverse("agent:desk", args=[made["campaign"]]),
        "results": reverse("reports:results", args=[made["version"]]),
        "crosstab": reverse("reports:results", args=[made["version"]]),
        "crosstab_brand": reverse("reports:results", args=[made["version"]]),
        "results_narrowed": reverse("reports:results", args=[made["version"]]),
        "analysis": reverse("reports:analysis", args=[made["version"]]),
        "index": reverse("reports:version_list"),
    }
    if made.get("interview"):
        found["agent_interview"] = reverse("agent:interview", args=[made["interview"]])
    return found


def child_paths(work: Path, made: str) -> dict:
    from tests.bench.bench_reports import _django

    _django(work)
    return _resolve(json.loads(made))


def _login(base: str, username: str):
    import requests

    http = requests.Session()
    http.headers["Accept-Language"] = "zh-hans"
    http.get(base + "/login/")
    response = http.post(
        base + "/login/",
        data={
            "username": username,
            "password": "pw",
            "csrfmiddlewaretoken": http.cookies.get("csrftoken", ""),
        },
        headers={"Referer": base + "/login/"},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not log in: {response.status_code}")
    return http


def _measure(base: str, made: dict, paths: dict) -> dict:
    sessions = {who: _login(base, name) for who, name in made["users"].items()}
    results = {}
    for name, (who, query) in _pages(made).items():
        url = base + paths[name] + (("?" + urllib.parse.urlencode(query)) if query else "")
        http = sessions[who]
        started = time.perf_counter()
        response = http.get(url, allow_redirects=False)
        first = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{name} {url}: {response.status_code}")
        times = []
        for _ in range(VIEWS):
            started = time.perf_counter()
            response = http.get(url, allow_redirects=False)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{name} {url}: {response.status_code}")
        if name == "results_narrowed" and 'data-testid="computed-note"' not in response.text:
            raise RuntimeError(f"{name}: the computed figures were not shown")
        times.sort()
        results[name] = {
            "p95": times[round(0.95 * (len(times) - 1))],
            "median": statistics.median(times),
            "kb": round(len(response.content) / 1024, 1),
            "first": first,
        }
    return results


def _serve(env: dict, port: int):
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/telephony/health/", timeout=2)
            return server
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def _one_size(scale: float) -> dict:
    os.environ["WAIHU_BENCH_INTERVIEWS"] = str(_n(INTERVIEWS, scale))
    tag = str(scale).replace(".", "_")
    schema = f"bench_pages_{os.getpid()}_{tag}"
    os.environ["WAIHU_BENCH_SCHEMA"] = schema
    with tempfile.TemporaryDirectory(prefix="waihu-bench-pages-") as tmp:
        work = Path(tmp)
        (work / "media").mkdir()
        server = None
        try:
            setup = run_child("tests.bench.bench_reports", "setup", work)
            made = run_child(
                "tests.bench.bench_pages", "load", work, str(setup["version"]), str(scale)
            )
            print(
                f"# scale {scale:g}: answers {json.dumps(setup['rows'])} in "
                f"{setup['seconds']:.0f} s; the rest {json.dumps(made['counts'])} in "
                f"{made['seconds']:.0f} s",
                flush=True,
            )
            paths = run_child("tests.bench.bench_pages", "paths", work, json.dumps(made))
            port = _free_port()
            env = _server_env(work, schema, port)
            server = _serve(env, port)
            return _measure(f"http://127.0.0.1:{port}", made, paths)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            run_child("tests.bench.bench_reports", "teardown", work)


def _server_env(work: Path, schema: str, port: int) -> dict:
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres", "pgsql")):
        separator = "&" if "?" in configured else "?"
        database_url = f"{configured}{separator}options=-c%20search_path%3D{schema}"
    else:
        database_url = f"sqlite:///{work / 'bench.sqlite3'}"
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "WAIHU_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WAIHU_MEDIA_ROOT": str(work / "media"),
        "WAIHU_SANDBOX": "true",
        "WAIHU_SANDBOX_PLAY": "false",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "bench-" + "k" * 44,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "WAIHU_LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        # Both sizes' narrowed pages go through the task, so their reads compare.
        "WAIHU_RESULTS_INLINE_LIMIT": "1000",
    }


def main() -> None:
    vendor = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    if vendor != "postgresql":
        # The load writes with generate_series; SQLite is not what runs at this size.
        print("# pages at scale: measured on PostgreSQL only (set DATABASE_URL)", flush=True)
        return
    print(
        f"# database: {vendor}; scale {SCALE:g} and a tenth of it; {VIEWS} views a page; "
        f"gunicorn {WORKERS} workers",
        flush=True,
    )
    small = _one_size(SCALE / 10)
    large = _one_size(SCALE)
    for name, figures in large.items():
        print(
            f"# {name}: p95 {figures['p95']:.0f} ms, median {figures['median']:.0f} ms "
            f"(a tenth: {small[name]['median']:.0f} ms), {figures['kb']} KB",
            flush=True,
        )
    for name, figures in large.items():
        print(f"bench: page_p95_ms_{name} {figures['p95']:.2f} ms", flush=True)
    # The narrowed page's first view waits for its task (run in the request here).
    print(
        f"bench: results_narrowed_compute_ms {large['results_narrowed']['first']:.2f} ms",
        flush=True,
    )
    pages = [figures["p95"] for name, figures in large.items() if name not in ANALYTICS]
    analytics = [figures["p95"] for name, figures in large.items() if name in ANALYTICS]
    growth = {name: large[name]["median"] / small[name]["median"] for name in large}
    print(f"# growth: {json.dumps({k: round(v, 2) for k, v in growth.items()})}", flush=True)
    print(f"bench: pages_p95_max_ms {max(pages):.2f} ms", flush=True)
    print(f"bench: analytics_p95_max_ms {max(analytics):.2f} ms", flush=True)
    print(f"bench: pages_growth_max {max(growth.values()):.2f} ratio", flush=True)


CHILDREN = {"load": child_load, "paths": child_paths}


if __name__ == "__main__":
    action, work, *rest = sys.argv[1:]
    print(json.dumps(CHILDREN[action](Path(work), *rest)))
