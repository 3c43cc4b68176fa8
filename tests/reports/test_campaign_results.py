"""The results page of one campaign: who may open it, its outcome figures and rates, the
interview tables of its own interviews only, the brand cross-tab from the contacts behind
the responses, and a query count that does not grow with the contacts."""

import datetime
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from outbound.models import Contact, WorkOrder
from reports import hooks
from reports.contact_attributes import attribute_source
from surveys.models import Question, Response
from tests.factories import Org, UserFactory, make_order
from tests.reports.campaign_data import D2, at, build_campaign
from tests.reports.data import bulk_interviews, demo_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    return Org()


@pytest.fixture
def source_registered():
    """The app registers the contacts as the source of attributes; tests that swap it out
    elsewhere leave it in place again."""
    before = list(hooks._sources)
    hooks.register_attribute_source(attribute_source)
    yield
    hooks._sources[:] = before


def _campaign(org, version, *, extra_completes=0):
    order = make_order(org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(
        questionnaire=version, run_status=WorkOrder.RunStatus.READY
    )
    order.refresh_from_db()
    a = UserFactory(username="agent_a", display_name="Agent A", roles=[Role.CALL_AGENT])
    b = UserFactory(username="agent_b", display_name="Agent B", roles=[Role.CALL_AGENT])
    contacts = build_campaign(order, a, b, extra_completes=extra_completes)
    return order, a, b, contacts


def url(order) -> str:
    return reverse("campaign_reports:results", args=[order.pk])


def _figure(page: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', page).group(1)


def test_who_opens_the_page(client, org, demo_version, source_registered):
    order, a, _b, _contacts = _campaign(org, demo_version)
    for user, status in [
        (org.analyst, 200),
        (org.outbound_admin, 200),
        (org.requester, 200),
        (org.other_requester, 404),
        (org.leader, 404),
        (a, 404),
        (org.nobody, 404),
    ]:
        client.force_login(user)
        assert client.get(url(order)).status_code == status, user
    client.logout()
    assert client.get(url(order)).status_code == 302


def test_page_shows_outcomes_rates_and_mapping(client, org, demo_version, source_registered):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.analyst)
    page = client.get(url(order)).content.decode()
    figures = {
        "contacts": "18",
        "attempts": "19",
        "reached": "10",
        "completed": "3",
        "partial": "1",
        "refused": "1",
        "no_answer": "1",
        "busy": "1",
        "invalid": "2",
        "do_not_call": "1",
        "attempts_per_complete": "6.33",
    }
    assert {name: _figure(page, name) for name in figures} == figures
    # RR1 3/14, RR2 4/14, COOP1 3/6, REF1 2/14, CON1 6/14.
    rates = dict(re.findall(r'data-rate="(\w+)">.*?<td class="text-end">([^<]*)</td>', page))
    assert rates == {"RR1": "21.4", "RR2": "28.6", "COOP1": "50.0", "REF1": "14.3", "CON1": "42.9"}
    assert 'data-testid="mapping"' in page and "Callback promised, not completed" in page
    assert page.count("<svg") >= 5  # rates, day, hour, agent, index
    assert "2026-03-02" in page and "Agent A" in page


def test_interview_tables_cover_this_campaign_only(client, org, demo_version, source_registered):
    order, a, _b, _contacts = _campaign(org, demo_version)
    # Five interviews with the same version outside this campaign.
    rng = random.Random(3)
    bulk_interviews(demo_version, [(demo_answers(rng), a, at(D2, "11:00")) for _ in range(5)])
    assert Response.objects.filter(version=demo_version, status="completed").count() == 8
    client.force_login(org.analyst)
    page = client.get(url(order)).content.decode()
    assert "3 interviews in these tables." in page
    q1 = page.split('data-testid="table-Q1"')[1].split("</section>")[0]
    assert "Base (asked): 3" in q1
    # The segment filter: c1 and c3 are "family" (even positions), c2 "young".
    page = client.get(url(order), {"segment": "young"}).content.decode()
    assert "1 interview in these tables." in page
    # The agent filter: A took c1 and c2.
    page = client.get(url(order), {"agent": a.pk}).content.decode()
    assert "2 interviews in these tables." in page
    assert _figure(page, "attempts") == "5"


def test_brand_crosstab_from_the_contacts(client, org, demo_version, source_registered):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.analyst)
    q1 = Question.objects.get(version=demo_version, code="Q1")
    page = client.get(url(order), {"row": q1.pk, "column": "attr:brand"}).content.decode()
    table = page.split('data-testid="crosstab-table"')[1].split("</table>")[0]
    # c1, c2, c3 are 神州行, 全球通, 动感地带: one respondent in each column.
    for brand in ("神州行", "全球通", "动感地带"):
        assert brand in table
    base = table.split("</thead>")[1].split("<th>Base</th>")[1]
    assert re.findall(r'<td class="text-end">(\d+)</td>', base) == ["1", "1", "1", "3"]
    assert "contacts&#x27; brand" in page or "contacts' brand" in page


def test_attribute_source_in_one_query(org, demo_version, django_assert_num_queries):
    _order, _a, _b, contacts = _campaign(org, demo_version)
    Contact.objects.filter(pk=contacts["c1"].pk).update(
        region="长沙", attributes={"plan": "Gold 88", "empty": ""}
    )
    responses = Response.objects.filter(version=demo_version)
    with django_assert_num_queries(1):
        mapping = attribute_source(responses)
    c1 = contacts["c1"].interviews.get().response_id
    assert mapping[c1] == {
        "brand": "神州行",
        "region": "长沙",
        "segment": "family",
        "plan": "Gold 88",
    }
    # Every interview's response, and nothing else: c1-c7, c14, c15.
    assert len(mapping) == 9


def test_query_count_does_not_grow_with_contacts(client, org, demo_version, source_registered):
    small, _a, _b, _contacts = _campaign(org, demo_version)
    other = UserFactory(username="req2", department=org.marketing, roles=[Role.REQUESTER])
    large = make_order(other)
    WorkOrder.objects.filter(pk=large.pk).update(
        questionnaire=demo_version, run_status=WorkOrder.RunStatus.READY
    )
    large.refresh_from_db()
    a = UserFactory(username="agent_c", roles=[Role.CALL_AGENT])
    b = UserFactory(username="agent_d", roles=[Role.CALL_AGENT])
    build_campaign(large, a, b, extra_completes=12)
    # Interviews outside both campaigns keep each a small part of the version's, so the
    # tables take the same path for both.
    rng = random.Random(5)
    bulk_interviews(demo_version, [(demo_answers(rng), a, at(D2, "11:00")) for _ in range(40)])
    client.force_login(org.analyst)
    params = {"row": Question.objects.get(version=demo_version, code="Q1").pk}
    params["column"] = "attr:brand"
    counts = []
    for order in (small, large):
        client.get(url(order), params)  # warm the session and content-type caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(order), params)
        assert response.status_code == 200
        counts.append(len(queries))
    # The page runs in a transaction (a savepoint and its release here), with JIT switched
    # off on PostgreSQL; the optional multiple choices count their respondents apart; one
    # count of the campaign's interviews decides whether they are computed here or by a task.
    expected = 32 + (connection.vendor == "postgresql")
    assert counts == [expected, expected]


def test_bad_dates_are_refused_on_the_form(client, org, demo_version, source_registered):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.analyst)
    day = datetime.date(2026, 3, 3)
    page = client.get(
        url(order), {"date_from": day.isoformat(), "date_to": "2026-03-01"}
    ).content.decode()
    assert "The start date is after the end date." in page
    assert _figure(page, "attempts") == "19"
