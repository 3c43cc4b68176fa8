"""The supervisor's view of the agents: each agent's state and for how long (the call's own
progress read live, nothing written by looking), the time in each state today, contacts
finished, the pace; as a page and as the JSON it polls, in a fixed number of queries."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outbound.agent import services
from outbound.models import AgentSession, AgentStateChange, DialState, ScriptReading
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import (
    agent_campaign,
    customer_status,
    second_agent,
)
from tests.outbound.test_dialer_fixtures import phones

pytestmark = pytest.mark.django_db

org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier
NINE = datetime.datetime(2026, 12, 7, 1, 0, tzinfo=datetime.UTC)  # 09:00 in Shanghai


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


def _board(client) -> dict:
    return {
        row["agent"]: row for row in client.get(reverse("agent:supervisor_json")).json()["agents"]
    }


def test_the_supervisor_sees_each_agents_state_and_for_how_long(client, org, carrier):
    with time_machine.travel(NINE, tick=False) as clock:
        colleague = second_agent(org)
        order = agent_campaign(org, phones=phones(3), team=[colleague])
        services.agent_sign_in(agent=colleague, campaign=order)
        interview = services.contact_reserve(campaign=order, agent=org.agent)
        clock.shift(10)
        attempt = services.interview_dial(interview=interview, agent=org.agent)
        clock.shift(4)
        customer_status(client, attempt, "in-progress")
        clock.shift(3)
        services.agent_pause(agent=colleague, reason="training")
        clock.shift(50)
        client.force_login(org.outbound_admin)
        written = AgentStateChange.objects.count()
        board = _board(client)
        page = client.get(reverse("agent:supervisor")).content.decode()
    # Looking writes nothing: the customer's answer is read from the carrier's report.
    assert AgentStateChange.objects.count() == written
    agent = board["agent"]
    assert (agent["state"], agent["state_label"]) == ("talking", "Talking")
    assert agent["seconds"] == 53 and agent["contact"] == interview.contact.name
    assert agent["spent"]["preview"] == 10 and agent["spent"]["ringing"] == 4
    assert agent["spent"]["talking"] == 53 and agent["campaign"] == order.title
    paused = board["agent2"]
    assert (paused["state"], paused["reason_label"], paused["seconds"]) == (
        "paused",
        "Training",
        50,
    )
    assert paused["spent"]["ready"] == 17
    assert 'data-agent="agent" data-state="talking"' in page
    assert 'data-agent="agent2" data-state="paused"' in page and "0:50" in page


def test_contacts_finished_and_pace_today_are_on_the_board(client, org, carrier):
    order = agent_campaign(org, phones=phones(2))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    customer_status(client, attempt, "in-progress")
    client.force_login(org.agent)
    client.post(
        reverse("agent:answer", args=[interview.pk]),
        {"question": "Q1", "choices": "1", "elapsed_ms": "45000"},
    )
    services.interview_finish(interview=interview, agent=org.agent, disposition="refused")
    client.force_login(org.outbound_admin)
    row = _board(client)["agent"]
    reading = ScriptReading.objects.get()
    assert row["finished_today"] == 1 and row["state"] == "ready"
    assert row["pace"]["per_minute"] == round(reading.units / 40 * 60)
    assert row["pace"]["unit"] == "words" and row["pace"]["verdict"] == "slow"


def test_an_agent_whose_console_went_quiet_is_shown_away(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    client.force_login(org.agent)
    client.post(reverse("agent:sign_in", args=[order.pk]))
    client.get(reverse("agent:desk", args=[order.pk]))
    client.force_login(org.outbound_admin)
    assert _board(client)["agent"]["away"] is False
    AgentSession.objects.update(last_seen_at=NINE - datetime.timedelta(days=30))
    assert _board(client)["agent"]["away"] is True


def test_only_supervisors_see_the_board(client, org):
    client.force_login(org.agent)
    assert client.get(reverse("agent:supervisor")).status_code == 404
    assert client.get(reverse("agent:supervisor_json")).status_code == 404
    client.force_login(org.requester)
    assert client.get(reverse("agent:supervisor_json")).status_code == 404


def _agents_at_work(org, order, count: int, start: int) -> None:
    """`count` more agents, each with a contact on a call, readings and a finished one."""
    from django.test import Client

    caller = Client()
    for n in range(start, start + count):
        agent = second_agent(org, username=f"a{n}")
        order.team.add(agent)
        done = services.contact_reserve(campaign=order, agent=agent)
        services.interview_dial(interview=done, agent=agent)
        done.refresh_from_db()
        customer_status(caller, done.attempt, "in-progress")
        ScriptReading.objects.create(
            interview=done,
            agent=agent,
            part="question",
            unit="words",
            units=30,
            seconds=20,
            reading_seconds=15,
            recorded_at=done.started_at,
        )
        services.interview_finish(interview=done, agent=agent, disposition="refused")
        working = services.contact_reserve(campaign=order, agent=agent)
        services.interview_dial(interview=working, agent=agent)
        working.refresh_from_db()
        customer_status(caller, working.attempt, "ringing")


def test_the_board_costs_the_same_queries_for_two_agents_or_eight(client, org, carrier):
    order = agent_campaign(org, phones=phones(20))
    client.force_login(org.outbound_admin)
    counts = []
    for start, more in ((0, 2), (2, 6)):
        _agents_at_work(org, order, more, start)
        with CaptureQueriesContext(connection) as page:
            body = client.get(reverse("agent:supervisor")).content.decode()
        with CaptureQueriesContext(connection) as polled:
            rows = client.get(reverse("agent:supervisor_json")).json()["agents"]
        assert len(rows) == start + more and body.count('data-state="ringing"') == start + more
        assert all(row["finished_today"] == 1 and row["pace"] for row in rows)
        counts.append((len(page), len(polled)))
        (campaign,) = client.get(reverse("agent:supervisor")).context["campaigns"]
        states = order.dial_states
        assert campaign.contacts_total == order.contacts.count() == 20
        assert campaign.contacts_waiting == states.filter(status="pending").count()
        assert campaign.contacts_left == 20 - states.filter(status__in=DialState.FINAL).count()
    # session, user, groups, completes by agent, the campaigns, their kept counts, their
    # completes, the board's five, and on the page the inbox count
    assert counts[0] == counts[1] == (13, 12), counts
