"""The console's controls: each shows its key; Next waits for the customer on the line and
the ringing notice goes when the call connects; hanging up; what each disposition needs of
the call; a disposition during the call hangs up and keeps the time talked, the carrier's
own figure replacing Waihu's when it comes."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from outbound.agent import services, sessions
from outbound.agent.forms import DISPOSITION_KEYS
from outbound.models import AgentState, CallAttempt, CallEvent, DialState, Interview, Outcome
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign, customer_status
from tests.outbound.test_dialer_fixtures import phones, signed_post

pytestmark = pytest.mark.django_db

org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier
NINE = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


def _page(client, interview) -> str:
    return client.get(reverse("agent:interview", args=[interview.pk])).content.decode()


def _tag(body: str, testid: str) -> str:
    match = re.search(rf"<[^>]*data-testid=\"{testid}\"[^>]*>", body)
    assert match, testid
    return match.group(0)


def test_every_control_shows_its_key(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    body = _page(client, interview)
    assert 'data-key="d"' in _tag(body, "dial") and "<kbd>D</kbd>" in body
    assert 'data-key="h"' in _tag(body, "hang-up") and "<kbd>H</kbd>" in body
    assert 'data-key="g"' in _tag(body, "release")
    assert 'data-key="p"' in _tag(body, "pause")
    # Q1 (yes/no): its two options by 1 and 2.
    for key, value in (("1", "1"), ("2", "2")):
        assert f'data-answer-key="{key}" data-for="id_choices_{int(value) - 1}"' in body
    # Each disposition with its own letter.
    for disposition, key in DISPOSITION_KEYS.items():
        assert f'data-disposition-key="{key}"' in body, disposition
    assert len(set(DISPOSITION_KEYS.values())) == len(DISPOSITION_KEYS)
    # The letters of the controls and of the dispositions never clash.
    assert not set(DISPOSITION_KEYS.values()) & {"d", "h", "g", "p"}
    assert 'data-testid="key-help"' in body


def test_answer_keys_follow_the_options_and_a_score_is_keyed_by_its_number(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    customer_status(client, attempt, "in-progress")
    client.force_login(org.agent)
    answer = reverse("agent:answer", args=[interview.pk])
    client.post(answer, {"question": "Q1", "choices": "1"})
    client.post(answer, {"question": "Q2", "choices": "2"})
    body = _page(client, interview)  # Q5: four options, the fourth "None of these" (code 9)
    assert 'data-answer-key="4" data-for="id_choices_3"' in body
    assert 'value="9"' in re.search(r'<input[^>]*id="id_choices_3"[^>]*>', body).group(0)
    client.post(answer, {"question": "Q5", "choices": "9"})
    body = _page(client, interview)  # Q7: a 0-10 score
    assert 'data-answer-key="0" data-for="id_number_0"' in body
    assert 'data-answer-key="10" data-for="id_number_10"' in body


def test_next_waits_for_the_customer_and_the_ringing_notice_goes_when_they_answer(
    client, org, carrier
):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    body = _page(client, interview)
    assert "disabled" in _tag(body, "answer-next") and "disabled" in _tag(body, "hang-up")
    assert "d-none" in _tag(body, "ringing-notice")
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    body = _page(client, interview)
    assert "d-none" not in _tag(body, "ringing-notice")
    assert "Your phone is ringing: answer it to reach the customer.</div>" in body
    assert "disabled" in _tag(body, "answer-next") and "disabled" not in _tag(body, "hang-up")
    assert "Hang up and record" in body
    # Answers are refused until the customer is on the line.
    response = client.post(
        reverse("agent:answer", args=[interview.pk]), {"question": "Q1", "choices": "1"}
    )
    assert "not on the line yet" in response.content.decode()
    assert not interview.response.answers.exists()
    customer_status(client, attempt, "ringing")
    body = _page(client, interview)
    assert "d-none" not in _tag(body, "ringing-notice")
    assert "Ringing the customer: the script goes on when they answer.</div>" in body
    customer_status(client, attempt, "in-progress")
    body = _page(client, interview)
    assert "d-none" in _tag(body, "ringing-notice")
    assert "disabled" not in _tag(body, "answer-next")
    state = client.get(reverse("agent:call", args=[interview.pk])).json()
    assert state["connected"] and state["live"] and state["me"]["state"] == "talking"
    response = client.post(
        reverse("agent:answer", args=[interview.pk]), {"question": "Q1", "choices": "1"}
    )
    assert response.status_code == 302 and interview.response.answers.count() == 1


def test_the_hang_up_button_ends_the_agents_leg(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    response = client.post(reverse("agent:hang_up", args=[interview.pk]), follow=True)
    assert "There is no call to hang up." in response.content.decode() and not carrier.ended
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    customer_status(client, attempt, "in-progress")
    response = client.post(reverse("agent:hang_up", args=[interview.pk]))
    assert response.url == reverse("agent:interview", args=[interview.pk])
    interview.refresh_from_db()
    assert carrier.ended == [interview.agent_call_sid]
    assert sessions.session_get(agent=org.agent).state == AgentState.WRAP_UP
    # The carrier reports the end; the attempt is finished by its report.
    customer_status(client, attempt, "completed", CallDuration="33")
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.duration) == (Outcome.ANSWERED, 33)


@pytest.mark.parametrize(
    ("disposition", "status"),
    [("wrong_number", DialState.Status.INVALID), ("callback", DialState.Status.PENDING)],
)
def test_a_disposition_that_needs_no_call_is_recorded_without_dialling(
    client, org, carrier, disposition, status
):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    later = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("agent:finish", args=[interview.pk]),
        {"disposition": disposition, "callback_at": later},
    )
    assert response.status_code == 302
    assert response.url == reverse("agent:desk", args=[order.pk])
    assert DialState.objects.get(pk=interview.contact_id).status == status
    assert not carrier.calls and not CallAttempt.objects.exists()
    assert Interview.objects.get(pk=interview.pk).disposition == disposition
    assert sessions.session_get(agent=org.agent).state == AgentState.READY


def test_dispositions_that_need_the_call_wait_for_it(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    finish = reverse("agent:finish", args=[interview.pk])
    body = client.post(finish, {"disposition": "no_answer"}).content.decode()
    assert "Dial the customer first" in body
    # Before dialling: only those needing no call are offered.
    assert 'data-needs="connected"' in body and "agent-unavailable" in body
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    body = client.post(finish, {"disposition": "refused"}).content.decode()
    assert "has not been on the line" in body
    assert Interview.objects.get(pk=interview.pk).closed_at is None
    customer_status(client, attempt, "in-progress")
    assert client.post(finish, {"disposition": "refused"}).status_code == 302


def test_a_disposition_during_the_call_hangs_up_and_counts_the_time_talked(client, org, carrier):
    with time_machine.travel(NINE, tick=False) as clock:
        order = agent_campaign(org, phones=phones(1))
        interview = services.contact_reserve(campaign=order, agent=org.agent)
        attempt = services.interview_dial(interview=interview, agent=org.agent)
        customer_status(client, attempt, "in-progress")
        clock.shift(95)
        services.interview_finish(interview=interview, agent=org.agent, disposition="refused")
    interview.refresh_from_db()
    assert carrier.ended == [interview.agent_call_sid]
    attempt.refresh_from_db()
    assert (attempt.status, attempt.outcome, attempt.duration) == ("completed", "answered", 95)
    assert attempt.events.get(status="completed").source == CallEvent.Source.DIALER
    # The <Dial>'s action then brings the carrier's own count, which replaces Waihu's.
    path = reverse("voice:bridge_dialled", args=[attempt.pk])
    signed_post(
        client,
        path,
        {
            "CallSid": interview.agent_call_sid,
            "CallStatus": "completed",
            "DialCallStatus": "completed",
            "DialCallSid": "CA" + "c" * 32,
            "DialCallDuration": "93",
        },
    )
    attempt.refresh_from_db()
    assert attempt.duration == 93
