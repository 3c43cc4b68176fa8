"""Claiming under concurrency: two real Celery worker processes (PostgreSQL and Redis, or
SQLite and kombu's SQLite transport) dial one campaign at once; no contact is dialled
twice and both workers take their share."""

import re
import time

import pytest
from django.db.models import Count

from outbound.dialer import tasks
from outbound.models import CallAttempt, DialState, SandboxCall
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones, start

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The shared fixtures, used by name.
org, sandbox, telephony_settings, workers = fx.org, fx.sandbox, fx.telephony_settings, fx.workers

CONTACTS = 120
CLAIMED = re.compile(r"dial_campaign\[[^\]]+\] succeeded in [0-9.e-]+s: ([1-9][0-9]*)")


def test_two_workers_never_dial_a_contact_twice(org, sandbox, telephony_settings, workers):
    order = start(make_campaign(org, phones=phones(CONTACTS)), org)
    env = {
        "WAIHU_PUBLIC_BASE_URL": telephony_settings.PUBLIC_BASE_URL,
        "WAIHU_DIALER_BATCH_SIZE": "8",
        "WAIHU_DIALER_PLACE_THREADS": "2",
    }
    # One after the other: kombu's SQLite transport creates a new queue's row without a
    # lock, so two workers declaring it at the same moment can collide.
    workers.start("one", env, concurrency=2)
    workers.wait_ready()
    workers.start("two", env, concurrency=2)
    workers.wait_ready()  # both take work from the start
    for _ in range(CONTACTS // 8 + 10):
        tasks.dial_campaign.delay(order.pk)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if CallAttempt.objects.exclude(call_sid=None).count() >= CONTACTS:
            break
        time.sleep(0.5)
    time.sleep(1)  # anything still running would show up as a second attempt

    attempts = CallAttempt.objects.filter(campaign=order)
    assert attempts.count() == CONTACTS
    assert not attempts.values("contact").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert not attempts.filter(call_sid=None).exists()
    calls = SandboxCall.objects.values("to").annotate(n=Count("sid"))
    assert len(calls) == CONTACTS and all(call["n"] == 1 for call in calls)
    assert set(DialState.objects.values_list("status", "attempts")) == {("dialing", 1)}
    logs = workers.stop()
    claimed = {name: sum(map(int, CLAIMED.findall(log))) for name, log in logs.items()}
    assert sum(claimed.values()) == CONTACTS
    assert all(count > 0 for count in claimed.values()), claimed
