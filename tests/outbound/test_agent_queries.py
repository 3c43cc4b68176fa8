"""The agent's next contact and the saving of an answer cost a fixed number of queries,
however many contacts the campaign has and however many campaigns are running: the claim
reads only its own campaign's first due rows, and an answer updates only its own counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outbound.agent import services
from outbound.models import DialState, Interview
from reports.tallies import tallies_rebuild
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign, customer_status, second_agent
from tests.outbound.test_dialer_fixtures import phones

pytestmark = pytest.mark.django_db

org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def _shift(client, org, *, campaigns: int, contacts: int) -> dict[str, int]:
    """The queries of: the first next contact (signing in on the way), the next after
    giving the first back, and the first two answers once the customer is on the line.
    Every campaign but the one worked is running too, and a colleague holds a contact of
    the worked one and has answered on it."""
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(contacts), team=[colleague])
    for n in range(1, campaigns):
        agent_campaign(org, phones=phones(contacts, start=n * 1000))
    tallies_rebuild(version=org.questionnaire)
    if contacts > 2:
        theirs = services.contact_reserve(campaign=order, agent=colleague)
        attempt = services.interview_dial(interview=theirs, agent=colleague)
        customer_status(client, attempt, "in-progress")
        theirs.refresh_from_db()
        client.force_login(colleague)
        client.post(
            reverse("agent:answer", args=[theirs.pk]),
            {"question": theirs.response.current_question.code, "choices": "1"},
        )
    client.force_login(org.agent)
    nxt = reverse("agent:next", args=[order.pk])
    counts = {"first": _queries(lambda: client.post(nxt))}
    interview = Interview.objects.get(agent=org.agent, closed_at=None)
    services.interview_release(interview=interview, agent=org.agent)
    counts["next"] = _queries(lambda: client.post(nxt))
    interview = Interview.objects.get(agent=org.agent, closed_at=None, reserved_until__isnull=False)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    customer_status(client, attempt, "in-progress")
    for name in ("answer", "answer_again"):
        interview.refresh_from_db()
        code = interview.response.current_question.code
        answer = reverse("agent:answer", args=[interview.pk])
        counts[name] = _queries(
            lambda answer=answer, code=code: client.post(answer, {"question": code, "choices": "1"})
        )
        interview.refresh_from_db()
        assert interview.response.current_question.code != code  # the answer was saved
    assert DialState.objects.filter(status=DialState.Status.DIALING).count() == (
        2 if contacts > 2 else 1
    )
    return counts


# The queries of each step, pinned at both sizes: a query added to either path is seen,
# and one that grows with the queue or with the campaigns fails the larger size.
EXPECTED = {"first": 43, "next": 34, "answer": 40, "answer_again": 42}


@pytest.mark.parametrize(("campaigns", "contacts"), [(1, 2), (6, 60)])
def test_next_contact_and_answers_take_a_fixed_number_of_queries(
    client, org, carrier, campaigns, contacts
):
    assert _shift(client, org, campaigns=campaigns, contacts=contacts) == EXPECTED


def test_contacts_added_to_a_running_campaign_join_its_queue(org):
    """While the queue has contacts the next contact does not look for new ones; the
    periodic task queues them, and a queue run dry looks for them itself."""
    from outbound.agent.tasks import expire_holds
    from outbound.models import Contact

    order = agent_campaign(org, phones=phones(1))
    later = agent_campaign(org, phones=phones(1, start=500))
    Contact.objects.create(campaign=order, phone="+8613900000001", name="Added")
    Contact.objects.create(campaign=later, phone="+8613900000002", name="Added later")
    assert services.contact_reserve(campaign=order, agent=org.agent).contact.name == "Customer 0"
    assert not DialState.objects.filter(contact__name="Added").exists()
    expire_holds()
    assert DialState.objects.filter(contact__name="Added", status="pending").count() == 1
    assert DialState.objects.filter(contact__name="Added later").count() == 1
    # A campaign whose queue has run dry: the next contact finds the one added.
    Contact.objects.create(campaign=later, phone="+8613900000003", name="Added last")
    names = set()
    for n in range(3):
        agent = second_agent(org, username=f"late{n}")
        later.team.add(agent)
        names.add(services.contact_reserve(campaign=later, agent=agent).contact.name)
    assert names == {"Customer 0", "Added later", "Added last"}
