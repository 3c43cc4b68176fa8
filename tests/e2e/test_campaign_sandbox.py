"""A campaign of 200 contacts dialled end to end: the real SDK reaches the sandbox over
HTTP (the live server), a real Celery worker places the calls and plays them out, signed
callbacks come back, and every contact ends in a final state with every count consistent."""

import time

import pytest
from django.db.models import Count, F, Q
from django.utils import timezone

from outbound.contacts import services as contact_services
from outbound.dialer import tasks
from outbound.models import (
    CallAttempt,
    CallEvent,
    CampaignSettings,
    DialState,
    Recording,
    SandboxCall,
)
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones, start

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The shared fixtures, used by name.
org, sandbox, telephony_settings, workers = fx.org, fx.sandbox, fx.telephony_settings, fx.workers

CONTACTS = 200
FAST = {
    "WAIHU_SANDBOX_RING_MIN_SECONDS": "0",
    "WAIHU_SANDBOX_RING_MAX_SECONDS": "0.3",
    "WAIHU_SANDBOX_TALK_MIN_SECONDS": "0",
    "WAIHU_SANDBOX_TALK_MAX_SECONDS": "0.5",
    "WAIHU_DIALER_PLACE_THREADS": "2",
    "WAIHU_SANDBOX_SHARES": "answered=80,busy=8,no_answer=6,failed=3,machine=3",
}


def test_a_campaign_of_200_contacts_finishes_against_the_sandbox(
    org, sandbox, telephony_settings, workers
):
    # Two numbers the sandbox refuses as invalid, one on the do-not-call list, one on the
    # red list.
    numbers = [*phones(CONTACTS - 4), "+15005550001", "+15005550002"]
    numbers += ["+8613900000001", "+8613900000002"]
    order = make_campaign(
        org,
        phones=numbers,
        calls_per_second=100.0,
        max_concurrent=150,
        max_attempts=2,
        retry_busy_minutes=0,
        retry_no_answer_minutes=0,
        retry_failed_minutes=0,
        machine_detection=True,
        record=True,
    )
    contact_services.dnc_add(phone="+8613900000001", source="manual")
    today = timezone.localdate()
    contact_services.red_list_add(phone="+8613900000002", starts_on=today, ends_on=today)
    start(order, org)
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    workers.start(
        "e2e",
        {"WAIHU_PUBLIC_BASE_URL": telephony_settings.PUBLIC_BASE_URL, **FAST},
        concurrency=3,
    )

    began = time.monotonic()
    deadline = began + 240
    while time.monotonic() < deadline:
        tasks.dial_due.delay()
        open_states = DialState.objects.filter(campaign=order).exclude(status__in=DialState.FINAL)
        if not open_states.exists() and not CallAttempt.objects.filter(finished_at=None).exists():
            break
        time.sleep(1.0)
    print(f"finished in {time.monotonic() - began:.1f} s")

    states = dict(
        DialState.objects.filter(campaign=order)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    assert sum(states.values()) == CONTACTS, states
    assert set(states) <= set(DialState.FINAL), states
    assert states.get("invalid") == 2 and states.get("excluded") == 2
    assert states.get("reached", 0) > CONTACTS // 3

    attempts = CallAttempt.objects.filter(campaign=order)
    assert not attempts.filter(finished_at=None).exists()
    # Each contact's attempts are numbered 1..n, n being the count the queue kept.
    per_contact = (
        DialState.objects.filter(campaign=order)
        .annotate(made=Count("contact__call_attempts"))
        .exclude(attempts=F("made"))
    )
    assert not per_contact.exists()
    assert not DialState.objects.filter(campaign=order, attempts__gt=2).exists()
    outcomes = dict(
        attempts.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n")
    )
    assert sum(outcomes.values()) == attempts.count()
    assert outcomes.get("answered") == states.get("reached")
    assert outcomes.get("invalid") == 2
    # Every placed call is a sandbox call, and every one of them ended.
    placed = attempts.exclude(call_sid=None)
    assert SandboxCall.objects.count() == placed.count()
    assert set(SandboxCall.objects.values_list("status", flat=True)) <= {
        "completed",
        "busy",
        "no-answer",
        "failed",
    }
    # Each placed attempt heard its final status through a signed callback.
    finals = CallEvent.objects.filter(
        attempt__in=placed, source="callback", status__in=CallAttempt.FINAL_STATUSES
    )
    assert finals.count() == placed.count()
    answered = attempts.filter(outcome="answered")
    assert not answered.filter(Q(duration=None) | Q(recording_url="")).exists()
    # Each answered call's recording is reported by a callback of its own, posted just
    # after the call's final status.
    unreported = answered.exclude(recordings__status=Recording.Status.COMPLETED)
    for _wait in range(20):
        if not unreported.exists():
            break
        time.sleep(0.5)
    assert not unreported.exists()
    assert CampaignSettings.objects.get(pk=order.pk).state == "running"
