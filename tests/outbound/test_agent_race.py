"""Agents asking for the next contact at the same moment, on the configured database:
each contact goes to one agent only, and one agent's double press places one call."""

import threading

import pytest
from django.db import connection

from outbound.agent import services
from outbound.models import DialState, Interview, WorkOrder
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign, second_agent
from tests.outbound.test_dialer_fixtures import phones

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier

AGENTS = 8
CONTACTS = 5


def test_agents_at_the_same_moment_never_get_the_same_contact(org, telephony_settings):
    agents = [second_agent(org, username=f"racer{n}") for n in range(AGENTS)]
    order = agent_campaign(org, phones=phones(CONTACTS), team=agents)
    barrier = threading.Barrier(AGENTS)
    taken: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def work(agent):
        try:
            campaign = WorkOrder.objects.get(pk=order.pk)
            barrier.wait(timeout=30)
            interview = services.contact_reserve(campaign=campaign, agent=agent)
            taken[agent.username] = interview.contact_id if interview else None
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    contacts = [pk for pk in taken.values() if pk is not None]
    assert len(contacts) == CONTACTS and len(set(contacts)) == CONTACTS
    assert list(taken.values()).count(None) == AGENTS - CONTACTS
    assert DialState.objects.filter(status=DialState.Status.DIALING).count() == CONTACTS
    holders = Interview.objects.filter(closed_at=None).values_list("contact_id", "agent__username")
    assert {(pk, name) for pk, name in holders} == {
        (pk, name) for name, pk in taken.items() if pk is not None
    }


def test_next_pressed_twice_at_once_in_progressive_mode_places_one_call(
    org, telephony_settings, carrier
):
    """Two requests of one agent at the same moment (a double press, two tabs): one contact
    is taken and dialled; the other request is refused or finds that contact held."""
    from django.core.exceptions import ValidationError

    from outbound.models import AgentStateChange

    order = agent_campaign(org, phones=phones(3), agent_dialing_mode="progressive")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def press():
        try:
            campaign = WorkOrder.objects.get(pk=order.pk)
            barrier.wait(timeout=30)
            results.append(services.contact_take_and_dial(campaign=campaign, agent=org.agent))
        except ValidationError as error:
            results.append(error)
        except BaseException as error:
            results.append(("unexpected", error))
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [r for r in results if isinstance(r, tuple)], results
    assert Interview.objects.count() == 1 and len(carrier.calls) == 1
    assert DialState.objects.filter(status=DialState.Status.DIALING).count() == 1
    assert AgentStateChange.objects.filter(agent=org.agent, ended_at=None).count() == 1
