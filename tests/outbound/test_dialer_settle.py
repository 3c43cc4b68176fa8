"""Attempts left without a final status (a lost callback, a crashed worker) are settled by
asking the carrier; no contact is ever lost."""

import datetime

import pytest
from django.utils import timezone

from outbound import telephony
from outbound.dialer import services, tasks
from outbound.models import CallAttempt, DialState, Outcome, SandboxCall
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, sandbox, telephony_settings = fx.org, fx.sandbox, fx.telephony_settings


@pytest.fixture(autouse=True)
def _documents_at_x_test(request):
    fx.documents_at_x_test(request)


def _sandbox_call(to: str) -> str:
    return telephony.place_call(
        to=to,
        from_="+8673110086",
        twiml_url="http://x.test/twiml",
        status_callback="http://x.test/status",
    )


def _stale(attempt: CallAttempt) -> None:
    CallAttempt.objects.filter(pk=attempt.pk).update(
        settle_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def test_settling_fetches_lost_final_statuses_from_the_carrier(org, sandbox):
    order = make_campaign(org, phones=phones(4), retry_no_answer_minutes=10)
    contacts = list(order.contacts.order_by("pk"))
    ended = _sandbox_call(contacts[0].phone)
    SandboxCall.objects.filter(sid=ended).update(status="completed", duration=37)
    unanswered = _sandbox_call(contacts[1].phone)
    SandboxCall.objects.filter(sid=unanswered).update(status="no-answer")
    talking = _sandbox_call(contacts[2].phone)
    SandboxCall.objects.filter(sid=talking).update(status="in-progress")
    first = open_attempt(order, contacts[0], sid=ended)
    second = open_attempt(order, contacts[1], sid=unanswered)
    third = open_attempt(order, contacts[2], sid=talking)
    never_placed = open_attempt(order, contacts[3], sid=None)
    fresh_sid = _sandbox_call("+8613900000000")
    for attempt in (first, second, third, never_placed):
        _stale(attempt)

    counts = tasks.settle_stale()

    assert counts == {"settled": 2, "lost": 0, "waiting": 1, "not_placed": 1}
    first.refresh_from_db()
    assert first.outcome == Outcome.ANSWERED and first.duration == 37
    assert first.events.filter(source="settle", status="completed").exists()
    states = {s.pk: s for s in DialState.objects.all()}
    assert states[contacts[0].pk].status == DialState.Status.REACHED
    assert states[contacts[1].pk].status == DialState.Status.PENDING
    third.refresh_from_db()
    assert third.finished_at is None and third.settle_at > timezone.now()
    assert states[contacts[2].pk].status == DialState.Status.DIALING
    never_placed.refresh_from_db()
    assert never_placed.outcome == Outcome.NOT_PLACED and never_placed.finished_at
    # A call that never reached the carrier costs the contact nothing: due again at once.
    assert states[contacts[3].pk].status == DialState.Status.PENDING
    assert states[contacts[3].pk].attempts == 0
    assert states[contacts[3].pk].next_attempt_at <= timezone.now()
    assert fresh_sid  # a call not yet due is left alone
    assert services.attempts_settle() == {"settled": 0, "lost": 0, "waiting": 0, "not_placed": 0}


def test_a_call_the_carrier_never_had_is_lost_not_stuck(org, sandbox):
    order = make_campaign(org, phones=phones(1))
    attempt = open_attempt(order, sid="CA" + "9" * 32)
    _stale(attempt)
    assert services.attempts_settle() == {"settled": 0, "lost": 1, "waiting": 0, "not_placed": 0}
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.LOST and attempt.error_code == "20404"


def test_an_account_that_refuses_to_answer_is_asked_again_later(org, sandbox, settings):
    order = make_campaign(org, phones=phones(1))
    attempt = open_attempt(order, sid=_sandbox_call(order.contacts.get().phone))
    _stale(attempt)
    settings.WAIHU_SANDBOX_ACCOUNT_STATUS = "suspended"
    assert services.attempts_settle() == {"settled": 0, "lost": 0, "waiting": 1, "not_placed": 0}
    attempt.refresh_from_db()
    assert attempt.finished_at is None and attempt.settle_at > timezone.now()
