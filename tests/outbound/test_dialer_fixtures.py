"""Shared pieces for the dialer, telephony, sandbox and webhook tests: a running campaign
with contacts, the sandbox served by the live server, signed callbacks, real Celery workers,
and what must hold at the end of a campaign whatever befell its workers, broker or
database."""

import datetime
import itertools
import time
from collections import defaultdict

import pytest
from django.db.models import Count
from django.utils import timezone

from outbound import telephony
from outbound.dialer import services
from outbound.dialer import tasks as dialer_tasks
from outbound.models import CampaignSettings, Contact, WorkOrder
from outbound.sandbox import tasks as sandbox_tasks
from tests.factories import Org, make_order

ALL_DAY = {str(day): ["00:00", "23:59"] for day in range(1, 8)}


def make_campaign(
    org: Org, *, phones=(), kind=WorkOrder.Kind.SATISFACTION, mode=WorkOrder.Mode.VOICE, **rules
):
    """A ready campaign; automated unless `mode` says agents, since the dialer places the
    calls of automated campaigns by itself."""
    order = make_order(org.requester, kind=kind, mode=mode)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    order.team.add(org.agent)
    Contact.objects.bulk_create(
        [
            Contact(campaign=order, phone=phone, name=f"Customer {n}")
            for n, phone in enumerate(phones)
        ]
    )
    defaults = {
        # Open at any moment, whatever today is in the calendar; the calendar's own tests
        # give None (as for the kind) or False.
        "weekly_hours": ALL_DAY,
        "calls_on_holidays": True,
        "calls_per_second": 1000.0,
        "max_concurrent": 100000,
    }
    defaults.update(rules)
    CampaignSettings.objects.update_or_create(campaign=order, defaults=defaults)
    order.refresh_from_db()
    return order


def start(order: WorkOrder, org: Org) -> WorkOrder:
    services.campaign_start(campaign=order, user=org.outbound_admin)
    order.refresh_from_db()
    return order


def signed_post(client, path: str, params: dict, *, base: str = "http://testserver"):
    """POSTs `params` to `path` signed as Twilio signs, for the public base URL `base`."""
    url = base + path
    return client.post(path, params, headers={"X-Twilio-Signature": telephony.sign(url, params)})


def phones(count: int, start: int = 0) -> list[str]:
    return [f"+86138{start + n:08d}" for n in range(count)]


def later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


@pytest.fixture
def org(db):
    return Org()


@pytest.fixture
def telephony_settings(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.WAIHU_SANDBOX_API_URL = ""
    settings.WAIHU_SANDBOX_PLAY = False
    settings.WAIHU_SANDBOX_RING_SECONDS = (0.0, 0.0)
    settings.WAIHU_SANDBOX_TALK_SECONDS = (0.0, 0.0)
    settings.WAIHU_DIALER_PLACE_THREADS = 4
    # The sandbox account owns the caller IDs the tests dial from.
    settings.WAIHU_SANDBOX_OWNED_NUMBERS = ["+8673110086", "+8673112345"]
    settings.WAIHU_SANDBOX_VERIFIED_CALLER_IDS = []
    settings.WAIHU_SANDBOX_ACCOUNT_STATUS = "active"
    return settings


@pytest.fixture
def sandbox(live_server, telephony_settings):
    """The sandbox served by the live server, the SDK pointed at it."""
    # By address: "localhost" would have every new connection try ::1 first.
    telephony_settings.PUBLIC_BASE_URL = live_server.url.replace("//localhost:", "//127.0.0.1:")
    return live_server


def documents_at_x_test(request) -> None:
    """For a test using the `sandbox` fixture: the TwiML it hands the sandbox lives at
    http://x.test, taken for Waihu's own address (the only kind the sandbox requests),
    while the SDK reaches the sandbox at the live server."""
    if "sandbox" not in request.fixturenames:
        return
    live = request.getfixturevalue("sandbox")
    settings = request.getfixturevalue("telephony_settings")
    settings.WAIHU_SANDBOX_API_URL = live.url.replace("//localhost:", "//127.0.0.1:") + "/sandbox"
    settings.PUBLIC_BASE_URL = "http://x.test"


def open_attempt(order: WorkOrder, contact: Contact | None = None, *, sid: str = "CA" + "1" * 32):
    """An attempt handed to the carrier, its contact claimed, as the dialer leaves them."""
    from outbound.models import CallAttempt, DialState

    contact = contact or order.contacts.first()
    state, _created = DialState.objects.get_or_create(contact=contact, defaults={"campaign": order})
    DialState.objects.filter(pk=state.pk).update(
        status=DialState.Status.DIALING, attempts=state.attempts + 1, next_attempt_at=None
    )
    return CallAttempt.objects.create(
        campaign=order,
        contact=contact,
        number=state.attempts + 1,
        to=contact.phone,
        caller_id="+8673110086",
        call_sid=sid,
        status=CallAttempt.Status.QUEUED,
        status_rank=CallAttempt.RANK["queued"],
        placed_at=timezone.now(),
        settle_at=timezone.now() + datetime.timedelta(minutes=15),
    )


@pytest.fixture
def carrier(monkeypatch):
    """Stands in for the carrier: records each call placed (and each hung up); `refuse`
    maps numbers to the error to raise."""
    import itertools

    class Carrier:
        def __init__(self):
            self.calls = []
            self.ended = []
            self.refuse = {}
            self._ids = itertools.count(1)

        def call_end(self, sid):
            self.ended.append(sid)
            return "completed"

        def place_call(self, **kwargs):
            self.calls.append(kwargs)
            error = self.refuse.get(kwargs["to"])
            if error is not None:
                raise error
            return f"CA{next(self._ids):032x}"

        @property
        def numbers(self):
            return [call["to"] for call in self.calls]

    fake = Carrier()
    monkeypatch.setattr(telephony, "place_call", fake.place_call)
    monkeypatch.setattr(telephony, "call_end", fake.call_end)
    return fake


# --- real Celery workers against the test database and the configured broker ------------


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class Workers:
    """Celery worker processes started for a test, stopped (and their output printed) at
    the end."""

    def __init__(self, queue: str, folder):
        self.processes = []
        self.queue = queue
        self.folder = folder

    def start(
        self,
        name: str,
        env: dict,
        *,
        pool: str = "threads",
        concurrency: int = 4,
        queues: tuple[str, ...] = (),
        hostname: str = "",
    ):
        """A worker serving the given queue groups of the test's queue ("calls", "bulk",
        "mail", "" for the default queue), or all of them; named `hostname` (name@host),
        else `name` at this machine's name."""
        import os
        import subprocess
        import sys

        from django.conf import settings

        from config.queues import queue_name, queue_names

        served = [queue_name(g, self.queue) for g in queues] or queue_names(self.queue)

        # A file, not a pipe: a pipe nobody reads fills up and stalls the worker's logging.
        log = open(self.folder / f"worker-{name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--hostname",
                hostname or f"{name}@%h",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--queues",
                ",".join(served),
            ],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "WAIHU_CELERY_QUEUE": self.queue,
                # The account's pacing the test runs with, which the worker shares.
                "WAIHU_ACCOUNT_CPS": str(settings.WAIHU_ACCOUNT_CPS),
                "WAIHU_SANDBOX_CPS": str(settings.WAIHU_SANDBOX_CPS),
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append((name, process, log))
        return process

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every worker started says it is ready to take tasks."""
        import time

        deadline = time.monotonic() + timeout
        pending = {name for name, _process, _log in self.processes}
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                log = (self.folder / f"worker-{name}.log").read_text(errors="replace")
                if " ready." in log:
                    pending.discard(name)
            time.sleep(0.2)
        if pending:
            tails = {
                name: (self.folder / f"worker-{name}.log").read_text(errors="replace")[-3000:]
                for name in sorted(pending)
            }
            exited = {name: p.poll() for name, p, _log in self.processes if name in pending}
            raise AssertionError(
                f"workers not ready after {timeout} s: {sorted(pending)}, exit codes {exited}, "
                f"logs {tails}"
            )

    def stop(self) -> dict[str, str]:
        import subprocess

        outputs = {}
        for name, process, log in self.processes:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            outputs[name] = (self.folder / f"worker-{name}.log").read_text(errors="replace")
        self.processes = []
        return outputs


@pytest.fixture
def workers(transactional_db, tmp_path):
    import uuid

    from config.celery import app

    # A queue of the test's own: nothing left on the broker by an earlier run reaches it.
    started = Workers(f"test-{uuid.uuid4().hex[:12]}", tmp_path)
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = started.queue
    app.conf.task_always_eager = False
    try:
        yield started
    finally:
        app.conf.task_always_eager = True
        app.conf.task_default_queue = default_queue
        for name, output in started.stop().items():
            print(f"--- worker {name} ---\n{output[-4000:]}")


# --- a campaign run by real workers: beat's periodic tasks, and what must hold at its end --


class Beat:
    """The periodic tasks, sent to the workers' queue as beat sends them (more often)."""

    SCHEDULE = (
        (dialer_tasks.dial_due, 0.5),
        (sandbox_tasks.sandbox_resume, 1.0),
        (dialer_tasks.settle_stale, 2.0),
    )

    def __init__(self, schedule=SCHEDULE):
        self.schedule = schedule
        self.last = defaultdict(float)

    def tick(self) -> None:
        now = time.monotonic()
        for task, every in self.schedule:
            if now - self.last[task.name] >= every:
                task.apply_async(expires=5)
                self.last[task.name] = now


def campaign_done(order) -> bool:
    """Every contact came to an end and no attempt is open."""
    from outbound.models import CallAttempt, DialState

    open_contacts = DialState.objects.filter(campaign=order).exclude(status__in=DialState.FINAL)
    return (
        not open_contacts.exists()
        and not CallAttempt.objects.filter(campaign=order, finished_at=None).exists()
    )


def check_invariants(order, count: int, *, max_attempts: int) -> dict[str, int]:
    """No contact dialled twice at once, none over the attempt limit, none lost, no
    attempt left open; returns the run's figures."""
    from outbound.models import CallAttempt, DialState, Outcome, SandboxCall

    attempts = CallAttempt.objects.filter(campaign=order)
    assert not attempts.filter(finished_at=None).exists()
    # The carrier's own record: calls to one number never overlap, and never number more
    # than the attempts a contact has.
    calls = defaultdict(list)
    for to, created, ended in SandboxCall.objects.filter(parent_call_sid="").values_list(
        "to", "date_created", "end_time"
    ):
        calls[to].append((created, ended))
    assert set(calls) <= set(order.contacts.values_list("phone", flat=True))
    for to, spans in calls.items():
        assert len(spans) <= max_attempts, (to, spans)
        spans.sort()
        for (_start, end), (next_start, _end) in itertools.pairwise(spans):
            assert end is not None and end <= next_start, (to, spans)
    assert not SandboxCall.objects.exclude(status__in=CallAttempt.FINAL_STATUSES).exists()
    placed = attempts.exclude(outcome=Outcome.NOT_PLACED)
    assert not placed.values("contact").annotate(n=Count("pk")).filter(n__gt=max_attempts)
    # Each attempt the carrier had is one of its calls, and the other way round.
    assert placed.exclude(call_sid=None).count() == sum(len(s) for s in calls.values())
    # None lost: every contact came to an end.
    states = DialState.objects.filter(campaign=order)
    assert states.count() == count
    assert not states.exclude(status__in=DialState.FINAL).exists()
    assert not states.filter(attempts__gt=max_attempts).exists()
    for contact_id, made in states.values_list("contact_id", "attempts"):
        assert made == placed.filter(contact_id=contact_id).count(), contact_id
    return {
        "attempts": attempts.count(),
        "calls": sum(len(s) for s in calls.values()),
        "not_placed": attempts.filter(outcome=Outcome.NOT_PLACED).count(),
        "lost": attempts.filter(outcome=Outcome.LOST).count(),
        "reached": states.filter(status=DialState.Status.REACHED).count(),
    }
