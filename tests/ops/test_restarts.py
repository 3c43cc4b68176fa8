"""Redis, or PostgreSQL, restarted under a running campaign: beat and the worker connect
again by themselves, the campaign goes on to its end, no contact is dialled twice, none is
left out, and no attempt is left open. Real processes: a Redis of the test's own (an
append-only file, as production runs it), a PostgreSQL cluster of the test's own, a Celery
worker, beat sending the dialer's tick, and the sandbox playing the calls out over HTTP (the
live server)."""

import contextlib
import json
import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, connection
from django.db.models import Count
from django.test import Client

from outbound.dialer import tasks as dialer_tasks
from outbound.models import CallAttempt, DialState, SandboxCall
from outbound.sandbox import tasks as sandbox_tasks
from tests.factories import Org
from tests.ops.private_postgres import default_database, private_postgres
from tests.ops.private_redis import celery_broker, private_redis
from tests.ops.web import get
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import (
    Beat,
    campaign_done,
    check_invariants,
    database_url,
    make_campaign,
    phones,
    start,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

org, sandbox, telephony_settings, workers = fx.org, fx.sandbox, fx.telephony_settings, fx.workers
private_redis, private_postgres = private_redis, private_postgres  # the fixtures, used by name

CONTACTS = 45
ENV = {
    "WAIHU_SANDBOX_RING_MIN_SECONDS": "0",
    "WAIHU_SANDBOX_RING_MAX_SECONDS": "0.3",
    "WAIHU_SANDBOX_TALK_MIN_SECONDS": "0",
    "WAIHU_SANDBOX_TALK_MAX_SECONDS": "0.5",
    "WAIHU_DIALER_PLACE_THREADS": "2",
    "WAIHU_DIALER_TICK_SECONDS": "0.5",
    # A task a worker took and never acknowledged comes back this soon (720 s in
    # production, looked for every 60 s: the test cannot wait that long).
    "WAIHU_BROKER_VISIBILITY_TIMEOUT_SECONDS": "5",
    "WAIHU_BROKER_RESTORE_SECONDS": "1",
}


def _beat(env: dict, folder) -> tuple[subprocess.Popen, object]:
    log = open(folder / "beat.log", "wb")  # noqa: SIM115 (closed by the test)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(folder / "beat-schedule"),
        ],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, log


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _supervise(workers, env) -> None:
    """Starts a worker again when it has exited, as systemd (Restart=always) and the
    containers (restart: unless-stopped) do: kombu's Redis transport can end a worker
    whose broker went away while it held messages ("Unrecoverable error: AttributeError"
    closing the lost connection); the messages it held come back to the next worker once
    their visibility timeout has passed."""
    for name, process, _log in list(workers.processes):
        if process.poll() is not None and not getattr(process, "replaced", False):
            process.replaced = True
            workers.start(f"{name}-again", env, concurrency=4)


def _open_calls(order) -> list[tuple]:
    """What an open attempt's call looks like, on both sides, for a failure's message."""
    sandbox = dict(SandboxCall.objects.values_list("sid", "status"))
    return [
        (attempt.pk, attempt.status, attempt.call_sid, sandbox.get(attempt.call_sid))
        for attempt in CallAttempt.objects.filter(campaign=order, finished_at=None)
    ]


def _progress(order) -> tuple[int, int]:
    placed = CallAttempt.objects.filter(campaign=order).exclude(call_sid=None).count()
    open_attempts = CallAttempt.objects.filter(campaign=order, finished_at=None).count()
    return placed, open_attempts


def test_a_campaign_goes_on_through_a_redis_restart(
    org, sandbox, telephony_settings, workers, private_redis, settings, tmp_path
):
    private_redis.start()
    order = make_campaign(
        org,
        phones=phones(CONTACTS),
        calls_per_second=6.0,
        max_concurrent=20,
        max_attempts=1,
    )
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    telephony_settings.WAIHU_SANDBOX_RING_SECONDS = (0.0, 0.3)
    telephony_settings.WAIHU_SANDBOX_TALK_SECONDS = (0.0, 0.5)
    with celery_broker(private_redis.url, settings):
        start(order, org)
        env = {"WAIHU_PUBLIC_BASE_URL": telephony_settings.PUBLIC_BASE_URL, **ENV}
        workers.start("calls", env, concurrency=4)
        beat, beat_log = _beat(
            {
                **env,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": private_redis.url,
                "WAIHU_CELERY_QUEUE": workers.queue,
            },
            tmp_path,
        )
        try:
            workers.wait_ready()
            began = time.monotonic()
            # Mid-campaign: a third of the calls placed, others ringing or queued.
            deadline = time.monotonic() + 60
            while _progress(order)[0] < CONTACTS // 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            placed_before, _open = _progress(order)
            restarted = time.monotonic()
            print(f"restart {restarted - began:.1f} s after the worker was ready")
            assert CONTACTS // 3 <= placed_before < CONTACTS, "the restart was not mid-campaign"
            private_redis.restart()

            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                _supervise(workers, env)
                open_states = DialState.objects.filter(campaign=order).exclude(
                    status__in=DialState.FINAL
                )
                if (
                    DialState.objects.filter(campaign=order).count() == CONTACTS
                    and not open_states.exists()
                    and not CallAttempt.objects.filter(campaign=order, finished_at=None).exists()
                ):
                    break
                time.sleep(0.5)
            print(f"campaign done {time.monotonic() - restarted:.1f} s after the restart")
            time.sleep(1)  # anything still running would show up as a second attempt
        finally:
            _stop(beat)
            beat_log.close()
            print("--- beat ---\n" + (tmp_path / "beat.log").read_text(errors="replace")[-3000:])
            print("--- redis ---\n" + (private_redis.folder / "redis.log").read_text()[-2000:])

    states = dict(
        DialState.objects.filter(campaign=order)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    assert sum(states.values()) == CONTACTS, states  # none left out
    assert set(states) <= set(DialState.FINAL), (states, _open_calls(order))
    attempts = CallAttempt.objects.filter(campaign=order)
    assert attempts.count() == CONTACTS  # one attempt each: none dialled twice
    assert not attempts.values("contact").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not attempts.filter(finished_at=None).exists()  # none left open
    calls = SandboxCall.objects.values("to").annotate(n=Count("sid"))
    assert all(call["n"] == 1 for call in calls), "a number was called twice"
    assert set(SandboxCall.objects.values_list("status", flat=True)) <= {
        "completed",
        "busy",
        "no-answer",
        "failed",
    }
    log = (private_redis.folder / "redis.log").read_text()
    assert log.count("Ready to accept connections") == 2  # it really restarted


# --- PostgreSQL restarted -------------------------------------------------------------------

PG_CONTACTS = 60
PG_MAX_ATTEMPTS = 2
PG_DOWN_SECONDS = 3
PG_ENV = {
    **ENV,
    # Every outcome, retries included (a busy or unanswered contact is due again at once).
    "WAIHU_SANDBOX_SHARES": "answered=55,busy=20,no_answer=15,failed=10",
    "WAIHU_SANDBOX_OPT_OUT_PERCENT": "0",
    # A call whose worker lost its step to the restart is played on after 3 s; an attempt
    # whose task died with its connection is settled after 8 s, and one still open after a
    # minute is finished as lost.
    "WAIHU_SANDBOX_RESUME_SECONDS": "3",
    "WAIHU_SETTLE_AFTER_SECONDS": "8",
    "WAIHU_LONGEST_CALL_MINUTES": "1",
}
# Beat sends these once a minute, or every 15 s: the test sends them more often, beside it.
SWEEPS = ((sandbox_tasks.sandbox_resume, 1.0), (dialer_tasks.settle_stale, 2.0))


@pytest.fixture
def waihu_on_private_postgres(private_postgres, transactional_db):
    """Waihu's schema in a cluster of the test's own, and every connection of this process
    and of the processes the test starts made to it (whatever DATABASE_URL says: the cluster
    is stopped under the campaign, so it cannot be the one the run shares)."""
    private_postgres.migrate()
    with default_database(private_postgres.url):
        yield private_postgres


@pytest.fixture
def private_org(waihu_on_private_postgres):
    return Org()


def _wait(seconds: float, until, sweeps: Beat | None = None, every: float = 0.3) -> bool:
    """Whether `until()` came true within `seconds`; the sweeps are sent meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sweeps is not None:
            sweeps.tick()
        if until():
            return True
        time.sleep(every)
    return False


@pytest.mark.postgres
@pytest.mark.own_postgres
def test_a_campaign_goes_on_through_a_postgres_restart(
    waihu_on_private_postgres,
    private_org,
    sandbox,
    telephony_settings,
    workers,
    private_redis,
    settings,
    tmp_path,
    capsys,
):
    began = time.monotonic()
    postgres, org = waihu_on_private_postgres, private_org
    private_redis.start()
    order = make_campaign(
        org,
        phones=phones(PG_CONTACTS),
        calls_per_second=6.0,
        max_concurrent=20,
        max_attempts=PG_MAX_ATTEMPTS,
        retry_busy_minutes=0,
        retry_no_answer_minutes=0,
        retry_failed_minutes=0,
    )
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    telephony_settings.WAIHU_SANDBOX_RING_SECONDS = (0.0, 0.3)
    telephony_settings.WAIHU_SANDBOX_TALK_SECONDS = (0.0, 0.5)
    client = Client()
    client.force_login(org.outbound_admin)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    base = telephony_settings.PUBLIC_BASE_URL
    sweeps = Beat(schedule=SWEEPS)
    with celery_broker(private_redis.url, settings):
        start(order, org)
        env = {"WAIHU_PUBLIC_BASE_URL": base, **PG_ENV}
        worker = workers.start("calls", env, concurrency=4)
        beat, beat_log = _beat(
            {
                **env,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": private_redis.url,
                "WAIHU_CELERY_QUEUE": workers.queue,
            },
            tmp_path,
        )
        try:
            workers.wait_ready()
            # Mid-campaign: a third of the contacts dialled, others ringing or queued.
            assert _wait(60, lambda: _progress(order)[0] >= PG_CONTACTS // 3, sweeps), (
                "the campaign did not start"
            )
            placed_before, open_before = _progress(order)
            assert placed_before < PG_CONTACTS, "the restart was not mid-campaign"

            stopped = time.monotonic()
            postgres.stop()
            # While it is away: pages say so, health answers, readiness names the database.
            status, body, headers, _elapsed = get(f"{base}/orders/", cookie)
            assert status == 503, body[:500]
            assert "Waihu is busy" in body and "Traceback" not in body
            assert headers["Retry-After"] == "30"
            assert get(f"{base}/healthz")[:2] == (200, '{"status": "ok"}')
            status, body, _headers, _elapsed = get(f"{base}/readyz")
            assert status == 503 and json.loads(body)["checks"]["database"].startswith("unavail")
            _wait(PG_DOWN_SECONDS - (time.monotonic() - stopped), lambda: False, sweeps)
            postgres.start()
            restarted = time.monotonic()
            # This process's own connection went with the server.
            with contextlib.suppress(DatabaseError):
                connection.close()

            finished = _wait(120, lambda: campaign_done(order), sweeps, every=0.5)
            done = time.monotonic()
            time.sleep(1)  # anything still running would show up as a second attempt
            assert get(f"{base}/orders/", cookie)[0] == 200
            # Nobody started them again: they connected again by themselves.
            assert worker.poll() is None and beat.poll() is None
        finally:
            _stop(beat)
            beat_log.close()
            print("--- beat ---\n" + (tmp_path / "beat.log").read_text(errors="replace")[-3000:])
            print("--- postgres ---\n" + postgres.log_text()[-3000:])

    assert finished, (_progress(order), _open_calls(order))
    figures = check_invariants(order, PG_CONTACTS, max_attempts=PG_MAX_ATTEMPTS)
    assert postgres.log_text().count("database system is ready to accept connections") == 2
    # The restart was felt: tasks met the closed database and were tried again.
    log = (workers.folder / "worker-calls.log").read_text(errors="replace")
    assert re.search(r"retry: Retry in [0-9]+s: OperationalError", log)
    with capsys.disabled():
        print(
            f"\npostgres restart: {PG_CONTACTS} contacts, {placed_before} placed and "
            f"{open_before} open when it stopped, down {restarted - stopped:.1f} s, campaign "
            f"done {done - restarted:.1f} s later, {time.monotonic() - began:.1f} s in all, "
            f"{figures}"
        )
