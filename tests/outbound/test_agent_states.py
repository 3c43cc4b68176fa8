"""The agent flow's table of states and transitions, and the agent's state at work as the
services move it: each stretch recorded with its length, the call's own progress applied at
the times the carrier gave, pauses (never given a contact while paused; a pause during a
call taken when the contact is finished), progressive dialling, lapses, stopping."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from outbound.agent import services, sessions, states
from outbound.agent.states import Event
from outbound.models import (
    AgentSession,
    AgentState,
    AgentStateChange,
    CallAttempt,
    DialState,
    Interview,
)
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import (
    AGENT_PHONE,
    agent_campaign,
    customer_status,
    second_agent,
)
from tests.outbound.test_dialer_fixtures import phones

pytestmark = pytest.mark.django_db

org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier
S = AgentState
NINE = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)  # 09:00 in Shanghai


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


@pytest.fixture
def clock():
    with time_machine.travel(NINE, tick=False) as traveller:
        yield traveller


def _history(agent) -> list[tuple[str, str, float | None]]:
    return list(
        AgentStateChange.objects.filter(agent=agent)
        .order_by("started_at", "id")
        .values_list("state", "event", "seconds")
    )


def _state(agent) -> AgentSession:
    return sessions.session_get(agent=agent)


# --- the table ---------------------------------------------------------------------------


def test_every_event_has_one_rule_and_every_rule_names_known_states():
    assert set(states.TRANSITIONS) == set(Event)
    for rule in states.TRANSITIONS.values():
        assert rule.sources and rule.keeps <= rule.sources and rule.effects
    rows = {row["event"]: row for row in states.table_rows()}
    assert rows["take"]["from"] == ["ready"] and rows["take"]["to"] == "preview"
    assert rows["dial"]["from"] == ["preview"] and rows["dial"]["to"] == "ringing"
    assert rows["finish"]["pause_asked"] == "paused" and rows["finish"]["keeps"] == ["paused"]


@pytest.mark.parametrize(
    ("state", "event", "options", "expected"),
    [
        (S.READY, Event.TAKE, {}, S.PREVIEW),
        (S.READY, Event.TAKE_AND_DIAL, {}, S.RINGING),
        (S.PREVIEW, Event.DIAL, {}, S.RINGING),
        (S.RINGING, Event.ANSWERED, {}, S.TALKING),
        (S.TALKING, Event.HANG_UP, {}, S.WRAP_UP),
        (S.RINGING, Event.AGENT_MISSED, {}, S.PREVIEW),
        (S.WRAP_UP, Event.FINISH, {}, S.READY),
        (S.WRAP_UP, Event.FINISH, {"pause_asked": True}, S.PAUSED),
        (S.PAUSED, Event.FINISH, {}, S.PAUSED),
        (S.TALKING, Event.PAUSE, {}, S.TALKING),
        (S.WRAP_UP, Event.PAUSE, {}, S.PAUSED),
        (S.PAUSED, Event.RESUME, {}, S.READY),
        (S.PAUSED, Event.RESUME, {"holding": True}, S.WRAP_UP),
        (S.PAUSED, Event.LAPSE, {}, S.PAUSED),
        (S.PREVIEW, Event.LAPSE, {}, S.READY),
        (S.OFFLINE, Event.SIGN_IN, {}, S.READY),
        (S.PAUSED, Event.SIGN_IN, {}, S.PAUSED),
    ],
)
def test_the_table_says_where_each_event_leads(state, event, options, expected):
    assert states.target(state, event, **options) == expected


@pytest.mark.parametrize(
    ("state", "event", "message"),
    [
        (S.PAUSED, Event.TAKE, "You are paused"),
        (S.PAUSED, Event.TAKE_AND_DIAL, "You are paused"),
        (S.TALKING, Event.TAKE, "You are on a call"),
        (S.OFFLINE, Event.TAKE, "Start work"),
        (S.PREVIEW, Event.TAKE, "Finish the contact you hold"),
        (S.WRAP_UP, Event.DIAL, "called already"),
        (S.WRAP_UP, Event.SIGN_OUT, "before you stop"),
        (S.READY, Event.FINISH, "cannot be done now"),
    ],
)
def test_an_event_the_table_does_not_allow_is_refused_with_a_reason(state, event, message):
    with pytest.raises(states.IllegalTransition, match=message):
        states.target(state, event)


def test_the_call_moves_the_agent_at_the_carriers_times_never_backwards():
    since = NINE
    answered = NINE + datetime.timedelta(seconds=7)
    ended = NINE + datetime.timedelta(seconds=70)
    facts = states.CallFacts(dialled=True, answered_at=answered, ended_at=ended)
    stretches = states.follow_call(S.RINGING, since, facts, now=ended)
    assert [(s.state, s.since, s.event) for s in stretches] == [
        (S.TALKING, answered, Event.ANSWERED),
        (S.WRAP_UP, ended, Event.CALL_ENDED),
    ]
    # A report stamped before the agent's own move (the carrier's clock counts whole
    # seconds) is taken as happening at that move.
    early = states.CallFacts(dialled=True, answered_at=since - datetime.timedelta(seconds=1))
    ((talking,),) = [states.follow_call(S.RINGING, since, early, now=ended)]
    assert talking.since == since
    # Already past it: nothing more happens.
    assert states.follow_call(S.WRAP_UP, since, facts, now=ended) == []
    missed = states.CallFacts(agent_leg_ended=True)
    assert [s.state for s in states.follow_call(S.RINGING, since, missed, now=ended)] == [S.PREVIEW]


# --- the agent's shift -------------------------------------------------------------------


def test_a_contact_from_taking_to_the_disposition_is_recorded_stretch_by_stretch(
    client, org, carrier, clock
):
    order = agent_campaign(org, phones=phones(2))
    client.force_login(org.agent)
    assert client.post(reverse("agent:sign_in", args=[order.pk])).status_code == 302
    clock.shift(30)
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    assert _state(org.agent).state == S.PREVIEW and _state(org.agent).interview == interview
    clock.shift(12)
    services.interview_dial(interview=interview, agent=org.agent)
    interview.refresh_from_db()
    clock.shift(5)
    customer_status(client, interview.attempt, "in-progress")
    clock.shift(60)
    customer_status(client, interview.attempt, "completed", CallDuration="60")
    clock.shift(20)
    services.interview_finish(interview=interview, agent=org.agent, disposition="refused")
    assert _history(org.agent) == [
        ("ready", "sign_in", 30.0),
        ("preview", "take", 12.0),
        ("ringing", "dial", 5.0),
        ("talking", "answered", 60.0),
        ("wrap_up", "call_ended", 20.0),
        ("ready", "finish", None),
    ]
    session = _state(org.agent)
    assert session.state == S.READY and session.interview is None
    assert session.campaign == order


def test_a_paused_agent_is_never_given_a_contact(client, org, carrier):
    order = agent_campaign(org, phones=phones(2))
    services.agent_sign_in(agent=org.agent, campaign=order)
    services.agent_pause(agent=org.agent, reason="break")
    session = _state(org.agent)
    assert (session.state, session.reason) == (S.PAUSED, "break")
    with pytest.raises(Exception, match="You are paused"):
        services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    response = client.post(reverse("agent:next", args=[order.pk]), follow=True)
    assert "You are paused" in response.content.decode()
    assert not Interview.objects.exists() and not carrier.calls
    assert set(DialState.objects.values_list("status", flat=True)) == {"pending"}
    # Ready again: contacts are given.
    client.post(reverse("agent:resume"))
    assert _state(org.agent).state == S.READY
    assert services.contact_reserve(campaign=order, agent=org.agent) is not None


def test_pausing_while_previewing_gives_the_contact_back(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    response = client.post(reverse("agent:pause"), {"reason": "training", "next": "/agent/"})
    assert response.status_code == 302 and response.url == "/agent/"
    assert DialState.objects.get(pk=interview.contact_id).status == DialState.Status.PENDING
    assert Interview.objects.get(pk=interview.pk).reserved_until is None
    session = _state(org.agent)
    assert (session.state, session.reason, session.interview) == (S.PAUSED, "training", None)
    # A reason is needed, from the list; an outside address is not followed back.
    client.post(reverse("agent:resume"))
    response = client.post(reverse("agent:pause"), {"reason": "lunch", "next": "https://x.test/"})
    assert response.url == reverse("agent:campaigns") and _state(org.agent).state == S.READY


def test_a_pause_during_a_call_is_taken_when_the_contact_is_finished(client, org, carrier):
    order = agent_campaign(org, phones=phones(2))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    services.interview_dial(interview=interview, agent=org.agent)
    interview.refresh_from_db()
    customer_status(client, interview.attempt, "in-progress")
    services.agent_pause(agent=org.agent, reason="break")
    session = _state(org.agent)
    assert session.state == S.TALKING and session.pause_asked == "break"
    client.force_login(org.agent)
    page = client.get(reverse("agent:interview", args=[interview.pk])).content.decode()
    assert 'data-testid="pause-asked"' in page
    services.interview_finish(interview=interview, agent=org.agent, disposition="refused")
    session = _state(org.agent)
    assert (session.state, session.reason, session.pause_asked) == (S.PAUSED, "break", "")
    with pytest.raises(Exception, match="You are paused"):
        services.contact_reserve(campaign=order, agent=org.agent)


def test_a_pause_in_wrap_up_keeps_the_contact_for_its_disposition(client, org, carrier):
    order = agent_campaign(org, phones=phones(2))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    services.interview_dial(interview=interview, agent=org.agent)
    interview.refresh_from_db()
    customer_status(client, interview.attempt, "in-progress")
    customer_status(client, interview.attempt, "completed", CallDuration="30")
    services.agent_pause(agent=org.agent, reason="after_call_work")
    session = _state(org.agent)
    assert (session.state, session.interview_id) == (S.PAUSED, interview.pk)
    # Ready again before the disposition: back to wrap-up.
    services.agent_resume(agent=org.agent)
    assert _state(org.agent).state == S.WRAP_UP
    services.agent_pause(agent=org.agent, reason="after_call_work")
    services.interview_finish(interview=interview, agent=org.agent, disposition="refused")
    session = _state(org.agent)
    assert (session.state, session.interview) == (S.PAUSED, None)
    assert [(state, event) for state, event, _s in _history(org.agent)] == [
        ("ready", "sign_in"),
        ("preview", "take"),
        ("ringing", "dial"),
        ("talking", "answered"),
        ("wrap_up", "call_ended"),
        ("paused", "pause"),
        ("wrap_up", "resume"),
        ("paused", "pause"),
    ]


def test_progressive_mode_takes_and_dials_the_next_contact_in_one_step(client, org, carrier):
    order = agent_campaign(
        org, phones=phones(2), agent_dialing_mode="progressive", progressive_delay_seconds=2
    )
    client.force_login(org.agent)
    desk = client.get(reverse("agent:desk", args=[order.pk])).content.decode()
    assert 'data-progressive="true"' in desk and 'data-delay="2"' in desk
    response = client.post(reverse("agent:next", args=[order.pk]))
    interview = Interview.objects.get()
    assert response.url == reverse("agent:interview", args=[interview.pk])
    assert carrier.numbers == [AGENT_PHONE] and interview.attempt is not None
    assert [(state, event) for state, event, _s in _history(org.agent)] == [
        ("ready", "sign_in"),
        ("ringing", "take_and_dial"),
    ]
    # Asking again while it rings gives the same contact and places no second call.
    client.post(reverse("agent:next", args=[order.pk]))
    assert Interview.objects.count() == 1 and len(carrier.calls) == 1


def test_preview_mode_holds_the_contact_without_dialling(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    client.force_login(org.agent)
    desk = client.get(reverse("agent:desk", args=[order.pk])).content.decode()
    assert 'data-progressive="false"' in desk
    client.post(reverse("agent:next", args=[order.pk]))
    assert _state(org.agent).state == S.PREVIEW and not carrier.calls


def test_progressive_dial_that_fails_leaves_the_contact_to_preview(client, org, carrier):
    from outbound import telephony

    order = agent_campaign(org, phones=phones(1), agent_dialing_mode="progressive")
    carrier.refuse[AGENT_PHONE] = telephony.CallRejected("refused")
    client.force_login(org.agent)
    response = client.post(reverse("agent:next", args=[order.pk]), follow=True)
    assert "could not be called" in response.content.decode()
    session = _state(org.agent)
    assert session.state == S.PREVIEW and session.interview is not None
    assert not CallAttempt.objects.exists()


def test_the_agents_phone_unanswered_brings_them_back_to_preview(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    path = reverse("voice:bridge_status", args=[attempt.pk])
    fx.signed_post(client, path, {"CallSid": "CA9", "CallStatus": "no-answer"})
    session = _state(org.agent)
    assert session.state == S.PREVIEW and session.interview_id == interview.pk
    assert _history(org.agent)[-1][:2] == ("preview", "agent_missed")


def test_a_lapsed_hold_frees_the_agent(org, carrier):
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(1), team=[colleague])
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    Interview.objects.filter(pk=interview.pk).update(
        reserved_until=interview.reserved_until - datetime.timedelta(hours=1)
    )
    services.reservations_expire()
    session = _state(org.agent)
    assert (session.state, session.interview) == (S.READY, None)
    assert _history(org.agent)[-1][:2] == ("ready", "lapse")


def test_stopping_work_needs_the_contact_finished(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    response = client.post(reverse("agent:sign_out"), follow=True)
    assert "before you stop" in response.content.decode()
    assert _state(org.agent).state == S.PREVIEW
    interview = Interview.objects.get()
    services.interview_release(interview=interview, agent=org.agent)
    client.post(reverse("agent:sign_out"))
    assert _state(org.agent).state == S.OFFLINE


def test_a_hold_from_before_sessions_were_kept_is_adopted_when_dialled(org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    AgentSession.objects.all().delete()
    AgentStateChange.objects.all().delete()
    services.interview_dial(interview=interview, agent=org.agent)
    session = _state(org.agent)
    assert session.state == S.RINGING and session.interview_id == interview.pk


def test_two_moves_at_once_cannot_both_win(org, carrier):
    """The session row is locked for each move: the second sees the first's state."""
    order = agent_campaign(org, phones=phones(1))
    services.contact_reserve(campaign=order, agent=org.agent)
    sessions.session_move(agent=org.agent, event=Event.RELEASE, interview=None)
    with pytest.raises(states.IllegalTransition):
        sessions.session_move(agent=org.agent, event=Event.RELEASE, interview=None)
    assert AgentStateChange.objects.filter(agent=org.agent, ended_at=None).count() == 1


def test_the_campaign_settings_choose_progressive_dialling_and_its_delay(client, org):
    from outbound.models import CampaignSettings

    order = agent_campaign(org, phones=phones(1))
    client.force_login(org.outbound_admin)
    url = reverse("campaigns:settings", args=[order.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="agent-dialing"' in page and 'name="agent_dialing_mode"' in page
    data = {
        "max_attempts": 3,
        "retry_busy_minutes": 30,
        "retry_no_answer_minutes": 120,
        "retry_failed_minutes": 60,
        "retry_machine_minutes": 240,
        "calls_per_second": 1,
        "max_concurrent": 20,
        "from_1": "09:00",
        "until_1": "18:00",
        "agent_dialing_mode": "progressive",
        "progressive_delay_seconds": 5,
    }
    assert client.post(url, data).status_code == 302
    rules = CampaignSettings.objects.get(pk=order.pk)
    assert (rules.agent_dialing_mode, rules.progressive_delay_seconds) == ("progressive", 5)
    bad = client.post(url, {**data, "progressive_delay_seconds": 500})
    assert "progressive_delay_seconds" in bad.context["form"].errors
    # Left out, they stay as they were.
    data.pop("agent_dialing_mode")
    data.pop("progressive_delay_seconds")
    assert client.post(url, data).status_code == 302
    rules.refresh_from_db()
    assert (rules.agent_dialing_mode, rules.progressive_delay_seconds) == ("progressive", 5)
