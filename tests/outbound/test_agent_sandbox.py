"""An agent's call through the sandbox as Twilio plays it: the agent's phone rings first, the
bridge's <Dial> places the customer's leg as a child call whose <Number> status callbacks
drive the attempt, and the <Dial>'s action tells the agent how it ended; a number that
cannot be called ends the <Dial> at once and is recorded from its action."""

import pytest
from django.urls import reverse

from outbound import telephony
from outbound.agent import services
from outbound.models import CallAttempt, DialState, Interview, Outcome, SandboxCall
from outbound.sandbox import play
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import AGENT_PHONE, agent_campaign, parse_twiml

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, telephony_settings, sandbox = fx.org, fx.telephony_settings, fx.sandbox


class Spy:
    """Records what the sandbox posts to Waihu, and Waihu's answers, on the real network."""

    def __init__(self, monkeypatch):
        self.requests = []
        self._post = play._session.post
        monkeypatch.setattr(play._session, "post", self.post)

    def post(self, url, data, headers, timeout):
        response = self._post(url, data=data, headers=headers, timeout=timeout)
        self.requests.append((url, dict(data), response.status_code, response.content))
        return response

    def to(self, name: str, attempt: CallAttempt):
        path = reverse(name, args=[attempt.pk])
        return [(params, body) for url, params, _code, body in self.requests if url.endswith(path)]


@pytest.fixture
def playing(sandbox, telephony_settings):
    """Sandbox calls play out as they are placed, every ring and talk taking no time."""
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    telephony_settings.WAIHU_SANDBOX_SHARES = {"answered": 1}
    # The campaign's own caller ID is one the account owns.
    telephony_settings.WAIHU_SANDBOX_OWNED_NUMBERS = [
        *telephony_settings.WAIHU_SANDBOX_OWNED_NUMBERS,
        "+8673110099",
    ]
    return sandbox


def _call_customer(org, phone: str) -> tuple[CallAttempt, Interview]:
    org.agent.language = "en"
    org.agent.save(update_fields=["language"])
    order = agent_campaign(org, phones=[phone], caller_id="+8673110099")
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    attempt.refresh_from_db()
    interview.refresh_from_db()
    return attempt, interview


@pytest.mark.parametrize(
    ("phone", "events", "status", "outcome", "heard"),
    [
        (
            "+8613800000001",
            ["initiated", "ringing", "in-progress", "completed"],
            "completed",
            Outcome.ANSWERED,
            "The call with the customer has ended.",
        ),
        (
            "+15005550101",
            ["initiated", "ringing", "busy"],
            "busy",
            Outcome.BUSY,
            "The customer's line is busy.",
        ),
    ],
)
def test_the_bridge_dials_the_customer_as_a_child_of_the_agents_call(
    org, playing, monkeypatch, phone, events, status, outcome, heard
):
    spy = Spy(monkeypatch)
    attempt, interview = _call_customer(org, phone)

    agent_leg = SandboxCall.objects.get(to=AGENT_PHONE)
    customer_leg = SandboxCall.objects.get(to=phone)
    assert interview.agent_call_sid == agent_leg.sid and agent_leg.status == "completed"
    assert (customer_leg.parent_call_sid, customer_leg.direction) == (
        agent_leg.sid,
        "outbound-dial",
    )
    # The <Dial>'s callerId is the campaign's caller ID.
    assert customer_leg.from_number == "+8673110099" and customer_leg.status == status

    # The <Number>'s status callbacks, for the child, numbered as sent.
    callbacks = [params for params, _body in spy.to("telephony:status", attempt)]
    assert [p["CallStatus"] for p in callbacks] == events
    assert [p["SequenceNumber"] for p in callbacks] == [str(n) for n in range(len(events))]
    assert {p["CallSid"] for p in callbacks} == {customer_leg.sid}
    assert {p["ParentCallSid"] for p in callbacks} == {agent_leg.sid}
    assert {p["Direction"] for p in callbacks} == {"outbound-dial"}

    # Then the <Dial>'s action, on the agent's call, with the child's result.
    ((action, body),) = spy.to("voice:bridge_dialled", attempt)
    assert action["CallSid"] == agent_leg.sid and "ParentCallSid" not in action
    assert action["DialCallStatus"] == status and action["DialCallSid"] == customer_leg.sid
    assert action["DialCallDuration"] == str(customer_leg.duration)
    assert action["DialBridged"] == ("true" if status == "completed" else "false")
    root = parse_twiml(body)
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    assert heard in "".join(root.find("Say").itertext())

    attempt.refresh_from_db()
    assert attempt.call_sid == customer_leg.sid
    assert (attempt.status, attempt.outcome) == (status, outcome)
    # The agent's leg ended after the customer's: the attempt stays.
    interview.refresh_from_db()
    assert interview.agent_call_status == "completed" and interview.attempt_id == attempt.pk

    # A GET of the child call shows whose <Dial> placed it.
    fetched = telephony.client().calls(customer_leg.sid).fetch()
    assert fetched.parent_call_sid == agent_leg.sid and fetched.direction == "outbound-dial"
    assert telephony.client().calls(agent_leg.sid).fetch().parent_call_sid is None


def test_a_number_that_cannot_be_called_is_recorded_from_the_dial_action(org, playing, monkeypatch):
    spy = Spy(monkeypatch)
    attempt, interview = _call_customer(org, "+15005550001")

    # No child call was made, so no status callback came for the customer.
    assert list(SandboxCall.objects.values_list("to", flat=True)) == [AGENT_PHONE]
    assert spy.to("telephony:status", attempt) == []
    ((action, body),) = spy.to("voice:bridge_dialled", attempt)
    assert action["DialCallStatus"] == "failed" and "DialCallSid" not in action
    attempt.refresh_from_db()
    assert attempt.finished_at is not None and attempt.call_sid is None
    assert (attempt.status, attempt.outcome) == ("failed", Outcome.INVALID)
    assert attempt.error_message
    # The agent hears why, then the line closes.
    root = parse_twiml(body)
    assert "The customer's number could not be reached." in "".join(root.find("Say").itertext())
    assert root.find("Say").get("language") == "en-US"
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    assert DialState.objects.get(pk=interview.contact_id).status == DialState.Status.INVALID
    # The agent records it as a wrong number; the attempt keeps its outcome.
    services.interview_finish(interview=interview, agent=org.agent, disposition="wrong_number")
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.INVALID


def test_lost_customer_callbacks_are_made_good_by_the_dial_action(org, playing, monkeypatch):
    spy = Spy(monkeypatch)
    # The sandbox's silent number: the child plays out but its callbacks never arrive.
    attempt, _interview = _call_customer(org, "+15005550105")
    customer_leg = SandboxCall.objects.get(to="+15005550105")
    assert spy.to("telephony:status", attempt) == []
    ((action, _body),) = spy.to("voice:bridge_dialled", attempt)
    assert action["DialCallStatus"] == "completed"
    attempt.refresh_from_db()
    assert attempt.call_sid == customer_leg.sid
    assert (attempt.status, attempt.outcome) == ("completed", Outcome.ANSWERED)
    assert attempt.duration == customer_leg.duration
