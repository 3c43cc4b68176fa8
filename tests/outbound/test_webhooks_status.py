"""Status callbacks and the call's TwiML: signed requests only, statuses applied in their
true order whatever order they arrive in, duplicates changing nothing."""

import datetime
from email.utils import format_datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outbound.models import CallAttempt, CallEvent, DialState, Outcome, WorkOrder
from surveys.models import Questionnaire, QuestionnaireVersion
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones, signed_post

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings = fx.org, fx.telephony_settings
SID = "CA" + "1" * 32


@pytest.fixture
def attempt(org, telephony_settings):
    order = make_campaign(org, phones=phones(1), retry_busy_minutes=30)
    return open_attempt(order, sid=SID)


def _status(attempt_pk: int) -> str:
    return reverse("telephony:status", args=[attempt_pk])


def _params(status: str, sequence: int, at: datetime.datetime | None = None, **extra) -> dict:
    at = at or timezone.now()
    return {
        "CallSid": SID,
        "AccountSid": "AC" + "5a" * 16,
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "Timestamp": format_datetime(at.astimezone(datetime.UTC), usegmt=True),
        **extra,
    }


def test_unsigned_or_badly_signed_callbacks_are_refused(client, attempt):
    path = _status(attempt.pk)
    params = _params("completed", 3)
    assert client.post(path, params).status_code == 403
    forged = client.post(path, params, headers={"X-Twilio-Signature": "AAAA"})
    assert forged.status_code == 403
    # A valid signature, but for other parameters than those sent.
    from outbound import telephony

    ringing = {**params, "CallStatus": "ringing"}
    signature = telephony.sign("http://testserver" + path, ringing)
    tampered = client.post(
        path, {**params, "CallStatus": "busy"}, headers={"X-Twilio-Signature": signature}
    )
    assert tampered.status_code == 403
    assert client.post(path, ringing, headers={"X-Twilio-Signature": signature}).status_code == 204
    attempt.refresh_from_db()
    assert attempt.finished_at is None and attempt.status == "ringing"


def test_signature_is_checked_against_the_public_base_url(client, attempt, telephony_settings):
    telephony_settings.PUBLIC_BASE_URL = "https://waihu.example.com"
    path = _status(attempt.pk)
    params = _params("ringing", 1)
    assert signed_post(client, path, params).status_code == 403  # signed for testserver
    ok = signed_post(client, path, params, base="https://waihu.example.com")
    assert ok.status_code == 204


def test_callbacks_need_no_login_and_no_csrf_token(attempt):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert signed_post(strict, _status(attempt.pk), _params("ringing", 1)).status_code == 204


def test_statuses_apply_in_their_true_order(client, attempt):
    start = timezone.now()
    path = _status(attempt.pk)
    final = _params("completed", 3, start + datetime.timedelta(seconds=30), CallDuration="21")
    assert signed_post(client, path, final).status_code == 204
    assert signed_post(client, path, _params("ringing", 1, start)).status_code == 204
    assert signed_post(client, path, _params("in-progress", 2, start)).status_code == 204
    assert signed_post(client, path, _params("initiated", 0, start)).status_code == 204
    attempt.refresh_from_db()
    assert attempt.status == "completed" and attempt.outcome == Outcome.ANSWERED
    assert attempt.duration == 21 and attempt.finished_at is not None
    timeline = list(attempt.events.order_by("occurred_at", "sequence").values_list("status"))
    assert [s for (s,) in timeline if s != "queued"] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    state = DialState.objects.get(pk=attempt.contact_id)
    assert state.status == DialState.Status.REACHED and state.last_outcome == Outcome.ANSWERED


def test_duplicates_change_nothing(client, attempt):
    path = _status(attempt.pk)
    busy = _params("busy", 2)
    assert signed_post(client, path, busy).status_code == 204
    attempt.refresh_from_db()
    state = DialState.objects.get(pk=attempt.contact_id)
    for _ in range(3):
        assert signed_post(client, path, busy).status_code == 204
    again = CallAttempt.objects.get(pk=attempt.pk)
    assert again.finished_at == attempt.finished_at and again.outcome == Outcome.BUSY
    assert CallEvent.objects.filter(attempt=attempt, status="busy").count() == 1
    after = DialState.objects.get(pk=attempt.contact_id)
    assert (after.status, after.attempts, after.next_attempt_at) == (
        DialState.Status.PENDING,
        state.attempts,
        state.next_attempt_at,
    )


def test_final_status_records_the_call_and_schedules_a_retry(client, attempt):
    from outbound import telephony

    before = timezone.now()
    recording = "RE" + "2" * 32
    params = _params(
        "completed",
        4,
        CallDuration="42",
        AnsweredBy="machine_start",
        RecordingSid=recording,
        RecordingUrl=telephony.recording_url(recording),
    )
    signed_post(client, _status(attempt.pk), params)
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.MACHINE and attempt.answered_by == "machine_start"
    assert attempt.duration == 42 and attempt.recording_url == telephony.recording_url(recording)
    state = DialState.objects.get(pk=attempt.contact_id)
    # The default policy does not call an answering machine again.
    assert state.status == DialState.Status.FINISHED and state.next_attempt_at is None

    second = open_attempt(attempt.campaign, attempt.contact, sid="CA" + "2" * 32)
    signed_post(
        client,
        _status(second.pk),
        {**_params("busy", 2), "CallSid": second.call_sid},
    )
    state.refresh_from_db()
    assert state.status == DialState.Status.PENDING
    delay = state.next_attempt_at - before
    assert datetime.timedelta(minutes=29) < delay < datetime.timedelta(minutes=31)


def test_failed_with_an_invalid_number_marks_the_contact_invalid(client, attempt):
    signed_post(client, _status(attempt.pk), _params("failed", 1, ErrorCode="21217"))
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.INVALID and attempt.error_code == "21217"
    assert DialState.objects.get(pk=attempt.contact_id).status == DialState.Status.INVALID


def test_unknown_attempt_is_a_404(client, attempt):
    assert signed_post(client, _status(attempt.pk + 999), _params("ringing", 1)).status_code == 404


def test_a_callback_costs_a_few_queries(client, attempt):
    path = _status(attempt.pk)
    with CaptureQueriesContext(connection) as ringing:
        signed_post(client, path, _params("ringing", 1))
    with CaptureQueriesContext(connection) as final:
        signed_post(client, path, _params("completed", 2, CallDuration="5"))
    statements = lambda ctx: [  # noqa: E731
        q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements(ringing)) <= 4
    assert len(statements(final)) <= 8


def test_twiml_says_the_greeting_in_the_questionnaire_language(client, attempt, org):
    questionnaire = Questionnaire.objects.create(name="Q", language="en", created_by=org.requester)
    version = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        number=1,
        status="published",
        published_at=timezone.now(),
        greeting_salutation="Hello {customer_name},",
        greeting_introduction="this is customer service.",
    )
    # A call of a campaign without a keypad survey (a notification) only says the greeting.
    attempt.campaign.questionnaire = version
    attempt.campaign.mode = WorkOrder.Mode.AGENTS
    attempt.campaign.save(update_fields=["questionnaire", "mode"])
    path = reverse("telephony:twiml", args=[attempt.pk])
    assert client.post(path, {"CallSid": SID}).status_code == 403
    response = signed_post(client, path, {"CallSid": SID})
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    body = response.content.decode()
    assert (
        '<Say language="en-US" voice="Polly.Joanna-Neural"><prosody rate="85%">'
        "Hello Customer 0, this is customer service.</prosody></Say>"
    ) in body
    assert body.endswith("<Hangup /></Response>")
