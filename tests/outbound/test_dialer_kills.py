"""A campaign run by real Celery workers that die: killed (SIGKILL) in the middle of the run
and started again, their prefetched and countdown tasks lost with them. Calls the sandbox
was playing in a dead worker are taken on by another (as a carrier's calls end whatever
happens to our workers), calls that never reached the carrier cost their contacts nothing,
and settling closes whatever is left. And the scale-out claim: three workers named for
three hosts run one campaign against one database and broker, with the same invariants.

The test plays beat itself: it sends the dialer's tick, the settling task and the
sandbox's sweep, as beat would, to the workers' queue."""

import json
import os
import re
import signal
import time

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from outbound.models import CallAttempt, DialState, Outcome
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import (
    Beat,
    campaign_done,
    check_invariants,
    make_campaign,
    phones,
    start,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The shared fixtures, used by name.
org, sandbox, telephony_settings, workers = fx.org, fx.sandbox, fx.telephony_settings, fx.workers

MAX_ATTEMPTS = 3
# The longest the run may be waited for, from the first tick to the last attempt closed (a
# bound, not a speed: measured on a shared two-core machine, the kill test's run took 90 s
# on PostgreSQL and Redis).
RUN_SECONDS = max(240, 2 * int(os.environ.get("WAIHU_KILL_CONTACTS", "120")))


def _worker_env(telephony_settings) -> dict[str, str]:
    return {
        "WAIHU_PUBLIC_BASE_URL": telephony_settings.PUBLIC_BASE_URL,
        "WAIHU_SANDBOX": "true",
        "WAIHU_SANDBOX_PLAY": "true",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
        # Short calls, and every outcome, retries included.
        "WAIHU_SANDBOX_SHARES": "answered=55,busy=20,no_answer=10,failed=10,machine=5",
        "WAIHU_SANDBOX_RING_MIN_SECONDS": "0.2",
        "WAIHU_SANDBOX_RING_MAX_SECONDS": "0.6",
        "WAIHU_SANDBOX_TALK_MIN_SECONDS": "0.3",
        "WAIHU_SANDBOX_TALK_MAX_SECONDS": "1.2",
        "WAIHU_SANDBOX_OPT_OUT_PERCENT": "0",
        # A dead worker's calls are taken on after 3 s; an attempt that never reached the
        # carrier is settled after 8 s.
        "WAIHU_SANDBOX_RESUME_SECONDS": "3",
        "WAIHU_SETTLE_AFTER_SECONDS": "8",
        "WAIHU_DIALER_BATCH_SIZE": "15",
        "WAIHU_DIALER_PLACE_THREADS": "3",
    }


def _campaign(org, count: int):
    return start(
        make_campaign(
            org,
            phones=phones(count),
            max_attempts=MAX_ATTEMPTS,
            max_concurrent=40,
            retry_busy_minutes=0,
            retry_no_answer_minutes=0,
            retry_failed_minutes=0,
        ),
        org,
    )


def _finished_share(order, count: int) -> float:
    return DialState.objects.filter(campaign=order, status__in=DialState.FINAL).count() / count


def _run(order, count: int, *, on_progress=None) -> float:
    """Runs beat until every contact is done; returns the seconds it took."""
    beat = Beat()
    began = time.monotonic()
    deadline = began + RUN_SECONDS
    while time.monotonic() < deadline:
        beat.tick()
        if on_progress is not None:
            on_progress(_finished_share(order, count))
        if campaign_done(order):
            return time.monotonic() - began
        time.sleep(0.25)
    states = dict(
        DialState.objects.filter(campaign=order)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    still_open = list(
        CallAttempt.objects.filter(campaign=order, finished_at=None).values(
            "pk", "status", "call_sid", "settle_at"
        )[:10]
    )
    raise AssertionError(
        f"campaign not done after {RUN_SECONDS} s: contacts {states}, open attempts "
        f"{still_open}, at {timezone.now()}"
    )


# The suite's size, bounded for CI; `make bench` (bench_kills) runs it with a few hundred.
KILL_CONTACTS = int(os.environ.get("WAIHU_KILL_CONTACTS", "120"))
TAKEN_ON = re.compile(r"sandbox: ([0-9]+) calls taken on")
# Kills land once these shares of the contacts are done.
KILL_AT = (0.15, 0.4, 0.65)


def test_workers_killed_mid_campaign_lose_no_contact_and_leave_no_call_open(
    org, sandbox, telephony_settings, workers, capsys
):
    order = _campaign(org, KILL_CONTACTS)
    env = _worker_env(telephony_settings)
    # One after the other: kombu's SQLite transport creates a new queue's row without a
    # lock, so two workers declaring it at the same moment can collide.
    running = {}
    for name in ("one", "two"):
        running[name] = workers.start(name, env, concurrency=8, queues=("calls",))
        workers.wait_ready()
    kills = []
    victims = ["one", "two", "one"]

    def kill_on_progress(share: float) -> None:
        if len(kills) < len(KILL_AT) and share >= KILL_AT[len(kills)]:
            victim = victims[len(kills)]
            open_calls = CallAttempt.objects.filter(campaign=order, finished_at=None).count()
            os.kill(running[victim].pid, signal.SIGKILL)
            running[victim].wait()
            kills.append((victim, round(share, 2), open_calls))
            # Started again, as a supervisor would.
            running[victim] = workers.start(
                f"{victim}-{len(kills)}", env, concurrency=8, queues=("calls",)
            )

    seconds = _run(order, KILL_CONTACTS, on_progress=kill_on_progress)

    assert len(kills) == 3, kills
    # Each kill cut calls off in the middle, and the dead workers' calls were played on.
    assert all(open_calls > 0 for _victim, _share, open_calls in kills), kills
    logs = " ".join(log.read_text(errors="replace") for log in workers.folder.glob("worker-*.log"))
    resumed = sum(map(int, TAKEN_ON.findall(logs)))
    assert resumed > 0
    figures = {
        **check_invariants(order, KILL_CONTACTS, max_attempts=MAX_ATTEMPTS),
        "steps_sent_again": resumed,
    }
    with capsys.disabled():
        print(
            f"\nworker kills: {KILL_CONTACTS} contacts, {len(kills)} kills {kills}, "
            f"done in {seconds:.1f} s, {figures}\nkill figures: "
            + json.dumps({"contacts": KILL_CONTACTS, "seconds": seconds, **figures})
        )


SCALE_CONTACTS = 90
HOSTS = ("w1@hostA", "w2@hostB", "w3@hostC")


def test_three_worker_hosts_run_one_campaign(org, sandbox, telephony_settings, workers, capsys):
    order = _campaign(org, SCALE_CONTACTS)
    env = _worker_env(telephony_settings)
    # The first declares the queues; then the others start side by side (kombu's SQLite
    # transport creates a new queue's row without a lock).
    for hosts in (HOSTS[:1], HOSTS[1:]):
        for host in hosts:
            workers.start(host.split("@")[0], env, concurrency=3, queues=("calls",), hostname=host)
        workers.wait_ready()

    seconds = _run(order, SCALE_CONTACTS)

    figures = check_invariants(order, SCALE_CONTACTS, max_attempts=MAX_ATTEMPTS)
    logs = workers.stop()
    for host, (name, log) in zip(HOSTS, sorted(logs.items()), strict=True):
        assert f"{host} ready." in log, name
        # Every host took its share of the campaign's work: claims, placing, playing.
        assert log.count(" succeeded in ") > 0, name
        assert "dial_campaign" in log and "sandbox_" in log, name
    assert not CallAttempt.objects.filter(
        Q(outcome=Outcome.LOST) | Q(outcome=Outcome.NOT_PLACED), campaign=order
    ).exists()
    with capsys.disabled():
        print(f"\nworker hosts: {SCALE_CONTACTS} contacts done in {seconds:.1f} s, {figures}")
