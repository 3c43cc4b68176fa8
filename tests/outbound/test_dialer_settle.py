"""Attempts left without a final status (a lost callback, a crashed worker) are settled by
asking the carrier; no contact is ever lost."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from outbound import telephony
from outbound.dialer import services, tasks
from outbound.models import CallAttempt, DialState, Outcome, SandboxCall
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import later, make_campaign, open_attempt, phones, start

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


# --- attempts that never reached the carrier ---------------------------------------------


@pytest.fixture
def lost_place_tasks(monkeypatch):
    """The tasks that would place the claimed calls die with their worker: their messages
    are lost. Undo to place calls again."""
    lost = []
    monkeypatch.setattr(tasks.place_calls, "apply_async", lambda *args, **kw: lost.append(args))
    return lost


def test_an_attempt_that_never_reached_the_carrier_costs_no_attempt(
    org, sandbox, lost_place_tasks, monkeypatch
):
    order = start(make_campaign(org, phones=phones(1), max_attempts=1), org)
    [claimed] = services.campaign_dial(campaign_id=order.pk)
    assert lost_place_tasks
    state = DialState.objects.get()
    assert (state.status, state.attempts) == (DialState.Status.DIALING, 1)
    # Not before its settle time: its task may still be coming.
    assert services.attempts_settle()["not_placed"] == 0

    _stale(CallAttempt.objects.get(pk=claimed))
    assert services.attempts_settle() == {"settled": 0, "lost": 0, "waiting": 0, "not_placed": 1}

    attempt = CallAttempt.objects.get(pk=claimed)
    assert attempt.outcome == Outcome.NOT_PLACED and attempt.call_sid is None
    state.refresh_from_db()
    assert (state.status, state.attempts) == (DialState.Status.PENDING, 0)
    assert state.next_attempt_at <= timezone.now() and state.last_outcome == ""
    # Its one attempt is still the contact's to make: the next claim places the call.
    monkeypatch.undo()
    [placed] = services.campaign_dial(campaign_id=order.pk)
    second = CallAttempt.objects.get(pk=placed)
    assert second.number == 2 and second.call_sid
    assert SandboxCall.objects.filter(to=second.to).count() == 1
    services.attempt_record_status(
        attempt_id=placed, params={"CallSid": second.call_sid, "CallStatus": "no-answer"}
    )
    state.refresh_from_db()
    # The limit (one attempt) counts only the call the carrier had.
    assert (state.status, state.attempts) == (DialState.Status.FINISHED, 1)


def test_a_call_accepted_before_its_task_died_is_found_at_the_carrier(
    org, sandbox, lost_place_tasks
):
    order = start(make_campaign(org, phones=phones(1)), org)
    contact = order.contacts.get()
    # An older call to the same number, from before the attempt, is not the attempt's.
    older = _sandbox_call(contact.phone)
    SandboxCall.objects.filter(sid=older).update(
        status="completed", date_created=timezone.now() - datetime.timedelta(hours=2)
    )
    [claimed] = services.campaign_dial(campaign_id=order.pk)
    attempt = CallAttempt.objects.get(pk=claimed)
    # The task asked the carrier, which accepted the call; the task died before the SID
    # was stored, and no callback came.
    sid = telephony.place_call(
        to=attempt.to,
        from_=attempt.caller_id,
        twiml_url="http://x.test/twiml",
        status_callback="http://x.test/status",
    )
    _stale(attempt)
    assert services.attempts_settle() == {"settled": 0, "lost": 0, "waiting": 1, "not_placed": 0}
    attempt.refresh_from_db()
    assert attempt.call_sid == sid and attempt.finished_at is None
    assert DialState.objects.get().attempts == 1

    SandboxCall.objects.filter(sid=sid).update(status="busy")
    _stale(attempt)
    assert services.attempts_settle()["settled"] == 1
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.BUSY


# --- the longest call ------------------------------------------------------------------


def test_settling_gives_up_on_a_call_open_past_the_longest_call(org, sandbox, settings):
    settings.WAIHU_LONGEST_CALL_MINUTES = 240
    order = make_campaign(org, phones=phones(2), retry_failed_minutes=60)
    first, second = order.contacts.order_by("pk")
    talking = open_attempt(order, first, sid=_sandbox_call(first.phone))
    unanswerable = open_attempt(order, second, sid=_sandbox_call(second.phone))
    SandboxCall.objects.filter(sid__in=[talking.call_sid, unanswerable.call_sid]).update(
        status="in-progress"
    )
    _stale(talking)
    _stale(unanswerable)
    assert services.attempts_settle()["waiting"] == 2

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=239), tick=True):
        assert services.attempts_settle()["waiting"] == 2
    # Asked again every few minutes meanwhile; the first time past the longest call:
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=246), tick=True):
        # The carrier still says "in-progress" for one...
        CallAttempt.objects.filter(pk=unanswerable.pk).update(settle_at=later(600))
        assert services.attempts_settle() == {
            "settled": 0,
            "lost": 1,
            "waiting": 0,
            "not_placed": 0,
        }
        # ...and the other cannot be asked at all.
        settings.WAIHU_SANDBOX_ACCOUNT_STATUS = "suspended"
        _stale(unanswerable)
        assert services.attempts_settle()["lost"] == 1
        moment = timezone.now()
    talking.refresh_from_db()
    assert talking.outcome == Outcome.LOST and "longest call" in talking.error_message
    unanswerable.refresh_from_db()
    assert unanswerable.outcome == Outcome.LOST and unanswerable.error_code == "20403"
    assert talking.events.filter(source="settle").exists()
    # Lost counts as failed in the retry policy: the contacts are scheduled again.
    for state in DialState.objects.all():
        assert state.status == DialState.Status.PENDING
        expected = moment + datetime.timedelta(minutes=60)
        assert abs((state.next_attempt_at - expected).total_seconds()) < 60


def test_calls_are_placed_with_the_longest_call_as_time_limit(sandbox, settings):
    settings.WAIHU_LONGEST_CALL_MINUTES = 90
    seen = {}

    def record(request, *args, **kwargs):
        seen.update(kwargs.get("data") or {})
        return original(request, *args, **kwargs)

    http = telephony.client().http_client
    original = http.request
    http.request = record
    try:
        _sandbox_call("+8613800000001")
    finally:
        http.request = original
    assert seen["TimeLimit"] == 5400


# --- a dropped database connection ----------------------------------------------------


def _drop_connection(on_postgres: bool) -> None:
    """Cuts this process's database connection as a database restart does."""
    from django.db import OperationalError, connection

    if not on_postgres:
        raise OperationalError("the database connection was closed")
    import psycopg

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"] or "postgres",
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_task_cut_off_from_the_database_is_tried_again(org, monkeypatch, on_postgres):
    order = make_campaign(org, phones=phones(1))
    attempt = open_attempt(order, sid=None)
    CallAttempt.objects.filter(pk=attempt.pk).update(status=CallAttempt.Status.CREATED)
    _stale(attempt)
    runs = []
    real = services.attempts_settle

    def settle_cut_off_once(**kwargs):
        runs.append(1)
        if len(runs) == 1:
            _drop_connection(on_postgres)
        return real(**kwargs)

    monkeypatch.setattr(services, "attempts_settle", settle_cut_off_once)
    monkeypatch.setattr(telephony, "calls_to", lambda **kwargs: [])
    # As a worker runs it: the retry is sent, not raised to the caller.
    result = tasks.settle_stale.apply(throw=False)

    assert result.successful(), result.traceback
    assert len(runs) == 2
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.NOT_PLACED
