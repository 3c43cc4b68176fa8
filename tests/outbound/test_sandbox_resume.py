"""A sandbox call whose worker died is played on by another, as a carrier's call ends
whatever becomes of its customer's workers: each call keeps its next step and when it is
due, the sweep sends again the steps nobody took, and a late task holding an old serial
does nothing."""

import datetime

import pytest
from django.utils import timezone

from outbound.dialer.services import _status_url, _twiml_url
from outbound.models import CallAttempt, CallEvent, DialState, Outcome, SandboxCall
from outbound.sandbox import steps, tasks
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, sandbox, telephony_settings = fx.org, fx.sandbox, fx.telephony_settings


@pytest.fixture
def playing(sandbox, telephony_settings):
    """The sandbox plays calls (the tasks run inline, their countdowns not waited for)."""
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    telephony_settings.WAIHU_SANDBOX_RESUME_SECONDS = 30
    return telephony_settings


def _orphan(order, contact, *, status: str, step: str, plan: str = "answered", **fields):
    """A call as a killed worker leaves it: `step` next, due (or taken) a while ago, its
    task gone with the worker."""
    attempt = open_attempt(order, contact, sid="CA" + f"{contact.pk:032x}")
    long_ago = timezone.now() - datetime.timedelta(seconds=45)
    call = SandboxCall.objects.create(
        sid=attempt.call_sid,
        account_sid="AC" + "5a" * 16,
        to=contact.phone,
        from_number=attempt.caller_id,
        url=_twiml_url(attempt.pk),
        status_callback=_status_url(attempt.pk),
        status_callback_events=["initiated", "ringing", "answered", "completed"],
        status=status,
        plan=plan,
        next_step=step,
        next_step_at=long_ago,
        step_serial=7,
        **fields,
    )
    return attempt, call


@pytest.mark.parametrize(
    ("status", "step", "plan", "outcome"),
    [
        # Died before it rang, while it rang, while talking, and once it should hang up.
        ("queued", "dial", "answered", Outcome.ANSWERED),
        ("ringing", "connect", "busy", Outcome.BUSY),
        ("in-progress", "connect", "answered", Outcome.ANSWERED),
        ("in-progress", "hang_up", "answered", Outcome.ANSWERED),
    ],
)
def test_a_dead_workers_call_is_played_to_its_end(org, playing, status, step, plan, outcome):
    order = make_campaign(org, phones=phones(1))
    started = {"start_time": timezone.now()} if status == "in-progress" else {}
    attempt, call = _orphan(order, order.contacts.get(), status=status, step=step, plan=plan)
    SandboxCall.objects.filter(sid=call.sid).update(**started)

    assert tasks.sandbox_resume() == 1

    call.refresh_from_db()
    assert call.status in ("completed", "busy") and call.end_time is not None
    assert call.next_step == "" and call.end_reported
    attempt.refresh_from_db()
    # The status callbacks reached Waihu: the attempt is closed by them, not by settling.
    assert attempt.outcome == outcome and attempt.finished_at is not None
    assert attempt.events.filter(source=CallEvent.Source.CALLBACK).exists()
    assert DialState.objects.get().status != DialState.Status.DIALING
    # Nothing left to resume; the dead worker's own task, were it ever delivered, does
    # nothing: its serial is gone.
    sequence = call.sequence
    assert tasks.sandbox_resume() == 0
    getattr(tasks, f"sandbox_{step}")(call.sid, 7)
    call.refresh_from_db()
    assert call.sequence == sequence


def test_an_ended_call_whose_callbacks_died_with_the_worker_reports_its_end(org, playing):
    order = make_campaign(org, phones=phones(1))
    attempt, _call = _orphan(
        order,
        order.contacts.get(),
        status="completed",
        step="hang_up",
        duration=12,
        end_time=timezone.now(),
    )
    assert tasks.sandbox_resume() == 1
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.ANSWERED and attempt.duration == 12


def test_a_step_still_within_its_time_is_left_to_its_worker(org, playing):
    order = make_campaign(org, phones=phones(2))
    first, second = order.contacts.order_by("pk")
    _attempt, due_now = _orphan(order, first, status="ringing", step="connect")
    SandboxCall.objects.filter(sid=due_now.sid).update(
        next_step_at=timezone.now() - datetime.timedelta(seconds=5)
    )
    # Taken by a worker a moment ago: its lease runs.
    _attempt, taken = _orphan(order, second, status="queued", step="dial")
    SandboxCall.objects.filter(sid=taken.sid).update(
        next_step_at=timezone.now() + datetime.timedelta(seconds=20)
    )
    assert steps.resume() == 0
    assert CallAttempt.objects.filter(finished_at=None).count() == 2


def test_the_sweep_does_nothing_outside_the_sandbox(org, playing):
    order = make_campaign(org, phones=phones(1))
    _orphan(order, order.contacts.get(), status="queued", step="dial")
    playing.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    playing.TWILIO_AUTH_TOKEN = "secret"
    assert steps.resume() == 0
    assert SandboxCall.objects.get().status == "queued"
