"""Hanging up through the Calls API, with the real SDK against the sandbox as Twilio does it:
Status=canceled ends a call that rings and leaves one in progress alone, Status=completed
ends it either way, a call that has ended is refused with 21220; ending the agent's leg ends
the customer's child call, the <Dial> action still reports it, and the agent's console
records the attempt with the time talked. The sandbox is driven step by step here
(WAIHU_SANDBOX_PLAY off) so each call is caught in the state the test needs."""

import pytest
import requests
from django.conf import settings as django_settings
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException

from outbound import telephony
from outbound.agent import services
from outbound.models import AgentState, CallAttempt, Interview, Outcome, SandboxCall
from outbound.sandbox import play
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import AGENT_PHONE, agent_campaign
from tests.outbound.test_agent_sandbox import Spy

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, telephony_settings, sandbox = fx.org, fx.telephony_settings, fx.sandbox


@pytest.fixture(autouse=True)
def _everyone_answers(telephony_settings):
    telephony_settings.WAIHU_SANDBOX_SHARES = {"answered": 1}


def _place(to="+8613800000000") -> SandboxCall:
    # Addresses of Waihu's (the only kind the sandbox requests) that answer nothing useful.
    base = django_settings.PUBLIC_BASE_URL
    sid = telephony.place_call(
        to=to,
        from_="+8673110086",
        twiml_url=f"{base}/nowhere/twiml",
        status_callback=f"{base}/nowhere/status",
    )
    return SandboxCall.objects.get(sid=sid)


def _refreshed(call: SandboxCall) -> SandboxCall:
    call.refresh_from_db()
    return call


def test_canceled_ends_a_ringing_call_and_leaves_one_in_progress(sandbox, monkeypatch):
    monkeypatch.setattr(play, "post_signed", lambda url, params, **kw: None)
    ringing = _place()
    play.dial(ringing)
    assert _refreshed(ringing).status == "ringing"
    assert telephony.client().calls(ringing.sid).update(status="canceled").status == "canceled"
    assert _refreshed(ringing).status == "canceled" and ringing.end_time is not None
    # The sandbox's own timers find it ended: it is never answered afterwards.
    assert play.connect(ringing) is None and _refreshed(ringing).status == "canceled"

    talking = _place("+8613800000001")
    play.dial(talking)
    _refreshed(talking)
    play._set(talking, status="in-progress", start_time=talking.date_created)
    assert telephony.client().calls(talking.sid).update(status="canceled").status == "in-progress"
    assert _refreshed(talking).status == "in-progress"
    assert telephony.client().calls(talking.sid).update(status="completed").status == "completed"
    assert _refreshed(talking).status == "completed" and talking.duration is not None


def test_a_call_that_has_ended_is_refused_and_call_end_reads_its_status(sandbox, monkeypatch):
    monkeypatch.setattr(play, "post_signed", lambda url, params, **kw: None)
    call = _place()
    play.finish(call, "busy")
    with pytest.raises(TwilioRestException) as raised:
        telephony.client().calls(call.sid).update(status="completed")
    assert raised.value.code == 21220 and raised.value.status == 400
    # Hanging up a call that has just ended is no error: it has ended.
    assert telephony.call_end(call.sid) == "busy"


def test_the_update_needs_a_status_the_api_knows(sandbox):
    call = _place()
    url = (
        f"{sandbox.url}/sandbox/2010-04-01/Accounts/{telephony.account_sid()}/Calls/{call.sid}.json"
    )
    auth = (telephony.account_sid(), telephony.sandbox_auth_token())
    response = requests.post(url, data={"Status": "busy"}, auth=auth, timeout=5)
    assert response.status_code == 400 and _refreshed(call).status == "queued"
    response = requests.post(url, data={"Status": "canceled"}, auth=("AC1", "x"), timeout=5)
    assert response.status_code == 401
    unknown = url.replace(call.sid, "CA" + "0" * 32)
    assert (
        requests.post(unknown, data={"Status": "canceled"}, auth=auth, timeout=5).status_code == 404
    )
    # A call queued, not yet rung, is canceled too.
    assert telephony.call_end(call.sid) == "canceled"


def _agent_on_a_call(org, *, customer_answers: bool):
    """The agent's leg answered and bridged by <Dial> to the customer's child call, which
    is ringing or, when `customer_answers`, in progress."""
    order = agent_campaign(org, phones=["+8613800000001"])
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    agent_leg = SandboxCall.objects.get(to=AGENT_PHONE)
    play.dial(agent_leg)
    assert play.connect(_refreshed(agent_leg)) is None  # it waits on the <Dial>
    child = SandboxCall.objects.get(parent_call_sid=agent_leg.sid)
    play.dial(child)
    if customer_answers:
        play.connect(_refreshed(child))
    interview.refresh_from_db()
    return interview, attempt, _refreshed(agent_leg), _refreshed(child)


def test_hanging_up_the_agent_ends_the_customer_and_the_dial_action_reports_it(
    org, sandbox, monkeypatch
):
    spy = Spy(monkeypatch)
    interview, attempt, agent_leg, child = _agent_on_a_call(org, customer_answers=True)
    assert child.status == "in-progress"
    attempt.refresh_from_db()
    assert attempt.status == "in-progress"
    assert services.sessions.session_get(agent=org.agent).state == AgentState.RINGING

    services.interview_hang_up(interview=interview, agent=org.agent)

    assert _refreshed(child).status == "completed" and _refreshed(agent_leg).status == "completed"
    ((action, _body),) = spy.to("voice:bridge_dialled", attempt)
    assert action["DialCallStatus"] == "completed" and action["DialCallSid"] == child.sid
    assert action["DialBridged"] == "true"
    attempt.refresh_from_db()
    assert (attempt.status, attempt.outcome) == ("completed", Outcome.ANSWERED)
    assert attempt.duration == child.duration
    # The agent talked, then is in wrap-up: the carrier's reports carried them there.
    session = services.sessions.session_get(agent=org.agent)
    assert session.state == AgentState.WRAP_UP and session.interview_id == interview.pk
    assert list(
        org.agent.agent_state_changes.order_by("started_at", "id").values_list("state", "event")
    ) == [
        ("ready", "sign_in"),
        ("preview", "take"),
        ("ringing", "dial"),
        ("talking", "answered"),
        ("wrap_up", "call_ended"),
    ]
    # Nothing left to hang up.
    with pytest.raises(Exception, match="no call to hang up"):
        services.interview_hang_up(interview=interview, agent=org.agent)


def test_hanging_up_while_the_customer_rings_cancels_their_leg(org, sandbox, monkeypatch):
    spy = Spy(monkeypatch)
    interview, attempt, agent_leg, child = _agent_on_a_call(org, customer_answers=False)
    assert child.status == "ringing"
    services.interview_hang_up(interview=interview, agent=org.agent)
    assert _refreshed(child).status == "canceled" and _refreshed(agent_leg).status == "completed"
    # The sandbox's ringing timer finds the child ended and does not answer it.
    assert play.connect(child) is None and _refreshed(child).status == "canceled"
    ((action, _body),) = spy.to("voice:bridge_dialled", attempt)
    assert action["DialCallStatus"] == "canceled" and action["DialBridged"] == "false"
    attempt.refresh_from_db()
    assert (attempt.status, attempt.outcome) == ("canceled", Outcome.CANCELED)
    assert services.sessions.session_get(agent=org.agent).state == AgentState.WRAP_UP
    # A disposition that needs no customer on the line is recorded; the contact is called
    # again as the retry policy says for a canceled call.
    services.interview_finish(interview=interview, agent=org.agent, disposition="no_answer")
    assert Interview.objects.get(pk=interview.pk).disposition == "no_answer"
    assert services.sessions.session_get(agent=org.agent).state == AgentState.READY


def test_hanging_up_before_the_agent_answers_cancels_the_agents_phone(org, sandbox, monkeypatch):
    Spy(monkeypatch)
    order = agent_campaign(org, phones=["+8613800000001"])
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    services.interview_dial(interview=interview, agent=org.agent)
    agent_leg = SandboxCall.objects.get(to=AGENT_PHONE)
    play.dial(agent_leg)
    interview.refresh_from_db()
    services.interview_hang_up(interview=interview, agent=org.agent)
    assert _refreshed(agent_leg).status == "canceled"
    # The customer was never dialled: the attempt is dropped and the contact still held.
    assert not CallAttempt.objects.exists()
    session = services.sessions.session_get(agent=org.agent)
    assert session.state == AgentState.PREVIEW and session.interview_id == interview.pk


def test_a_disposition_during_the_call_hangs_up_and_keeps_the_time_talked(
    client, org, sandbox, monkeypatch
):
    Spy(monkeypatch)
    interview, attempt, agent_leg, child = _agent_on_a_call(org, customer_answers=True)
    client.force_login(org.agent)
    response = client.post(reverse("agent:finish", args=[interview.pk]), {"disposition": "refused"})
    assert response.status_code == 302
    assert _refreshed(child).status == "completed" and _refreshed(agent_leg).status == "completed"
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.ANSWERED and attempt.duration == child.duration
    assert Interview.objects.get(pk=interview.pk).disposition == "refused"
    session = services.sessions.session_get(agent=org.agent)
    assert session.state == AgentState.READY and session.interview_id is None
