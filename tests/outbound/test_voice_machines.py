"""Answering machines on a voice-survey campaign, end to end: the dialer places the call
through the real SDK, the sandbox's machine number answers, detection's result comes with
the call's TwiML request, and Waihu hangs up or leaves the campaign's message after the
beep; the attempt ends as a machine and the retry policy decides what follows."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from outbound.dialer import services as dialer
from outbound.models import CallAttempt, DialState, Interview, Outcome, SandboxCall
from outbound.sandbox import play
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import parse_twiml
from tests.outbound.test_voice_fixtures import voice_campaign

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, telephony_settings, sandbox = fx.org, fx.telephony_settings, fx.sandbox

MACHINE = "+15005550104"


@pytest.fixture
def spy(sandbox, telephony_settings, monkeypatch):
    """Calls play out as they are placed; what the sandbox posts to Waihu, and Waihu's
    answers, are recorded on their way."""
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    requests = []
    real_post = play._session.post

    def post(url, data, headers, timeout):
        response = real_post(url, data=data, headers=headers, timeout=timeout)
        requests.append((url, dict(data), response.content))
        return response

    monkeypatch.setattr(play._session, "post", post)
    return requests


def _dial_one(order) -> CallAttempt:
    assert len(dialer.campaign_dial(campaign_id=order.pk)) == 1
    return CallAttempt.objects.get(campaign=order)


def _twiml_requests(spy, attempt):
    path = reverse("telephony:twiml", args=[attempt.pk])
    return [(params, body) for url, params, body in spy if url.endswith(path)]


def test_a_machine_is_hung_up_on_and_not_called_again(org, spy):
    order = voice_campaign(org, phones=[MACHINE], machine_detection=True)
    attempt = _dial_one(order)

    call = SandboxCall.objects.get(sid=attempt.call_sid)
    assert call.machine_detection == "Enable"
    ((params, body),) = _twiml_requests(spy, attempt)
    assert params["AnsweredBy"] == "machine_start"
    assert [verb.tag for verb in parse_twiml(body)] == ["Hangup"]
    attempt.refresh_from_db()
    assert (attempt.status, attempt.outcome) == ("completed", Outcome.MACHINE)
    assert attempt.answered_by == "machine_start"
    assert not Interview.objects.filter(campaign=order).exists()
    # The campaign does not retry machines by default.
    assert DialState.objects.get(contact__campaign=order).status == DialState.Status.FINISHED


def test_a_message_is_left_after_the_beep_and_the_machine_called_again(org, spy):
    order = voice_campaign(
        org,
        phones=[MACHINE],
        machine_detection=True,
        machine_message="Hello {customer_name}, we will call you again.",
        retry_machine=True,
        retry_machine_minutes=240,
    )
    before = timezone.now()
    attempt = _dial_one(order)

    # Detection waits for the end of the greeting, so the message is said after the beep.
    call = SandboxCall.objects.get(sid=attempt.call_sid)
    assert call.machine_detection == "DetectMessageEnd"
    ((params, body),) = _twiml_requests(spy, attempt)
    assert params["AnsweredBy"] == "machine_end_beep"
    root = parse_twiml(body)
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    assert "".join(root.find("Say").itertext()) == "Hello Customer 0, we will call you again."
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.MACHINE and attempt.answered_by == "machine_end_beep"
    state = DialState.objects.get(contact__campaign=order)
    wait = datetime.timedelta(minutes=240)
    assert state.status == DialState.Status.PENDING
    assert before + wait <= state.next_attempt_at <= timezone.now() + wait


def test_a_person_gets_the_survey_whatever_the_detection_mode(org, spy):
    order = voice_campaign(
        org, phones=["+15005550100"], machine_detection=True, machine_message="Call us back."
    )
    attempt = _dial_one(order)
    params, body = _twiml_requests(spy, attempt)[0]
    assert params["AnsweredBy"] == "human"
    assert "Gather" in [verb.tag for verb in parse_twiml(body)]
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.ANSWERED
    assert Interview.objects.filter(campaign=order).exists()


def test_a_message_for_machines_needs_detection(org):
    order = voice_campaign(org, phones=[MACHINE])
    with pytest.raises(ValidationError) as raised:
        dialer.settings_update(
            campaign=order,
            user=org.outbound_admin,
            data={"machine_message": "Call us back.", "machine_detection": False},
        )
    assert "machine_message" in raised.value.message_dict
