"""The results pages through the client: who sees what, the figures on the page, the
cross-tab, open answers, the analysis, and a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from reports import hooks
from reports.models import Analysis
from surveys.models import Question
from tests.factories import UserFactory
from tests.reports.data import demo_dataset

pytestmark = pytest.mark.django_db


def url(version, rest=""):
    return f"/reports/versions/{version.pk}/{rest}"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ANALYST, 200),
        (Role.OUTBOUND_ADMIN, 200),
        (Role.REQUESTER, 403),
        (Role.CALL_AGENT, 403),
        (Role.CS_CENTRE_LEADER, 403),
    ],
)
def test_who_reads_results(client, demo_version, role, status):
    client.force_login(UserFactory(roles=[role]))
    assert client.get(url(demo_version)).status_code == status
    assert client.get("/reports/").status_code == status
    assert client.get(url(demo_version, "analysis/")).status_code == status


def test_login_required(client, demo_version):
    response = client.get(url(demo_version))
    assert response.status_code == 302
    assert "/login/" in response.url


def test_results_page_shows_the_figures(client, demo_version, analyst, no_attribute_source):
    hooks._sources.clear()
    taken = demo_dataset(demo_version, count=20, agents=[analyst])
    client.force_login(analyst)
    page = client.get(url(demo_version)).content.decode()
    assert "20 interviews in these tables." in page
    assert "Segments come from question Q3" in page
    assert "No contact attributes available" in page
    assert page.count("<svg") == 1 + 14  # the index and every closed question
    refused = sum(1 for a in taken if a["Q2"] == "refused")
    assert f"Refused: {refused} (" in page
    assert "Top two boxes" in page and "Weakest items" in page
    agent_only = client.get(url(demo_version), {"agent": analyst.pk, "statuses": "all"})
    assert "20 interviews in these tables." in agent_only.content.decode()
    bad = client.get(url(demo_version), {"date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert "The start date is after the end date." in bad.content.decode()


def test_results_page_queries_do_not_grow(client, demo_version, analyst):
    client.force_login(analyst)
    demo_dataset(demo_version, count=5)
    with CaptureQueriesContext(connection) as few:
        client.get(url(demo_version))
    demo_dataset(demo_version, count=40, seed=3)
    with CaptureQueriesContext(connection) as many:
        client.get(url(demo_version))
    assert len(few) == len(many)


def test_crosstab_on_the_page(client, demo_version, analyst):
    demo_dataset(demo_version, count=30)
    client.force_login(analyst)
    q1 = Question.objects.get(version=demo_version, code="Q1")
    q9 = Question.objects.get(version=demo_version, code="Q9")
    page = client.get(url(demo_version), {"row": q9.pk, "column": f"q:{q1.pk}"}).content.decode()
    assert 'data-testid="crosstab-table"' in page
    assert "χ² =" in page


def test_open_answers_are_listed_and_masked(client, demo_version, analyst, outbound_admin):
    demo_dataset(demo_version, count=60)
    q15 = Question.objects.get(version=demo_version, code="Q15")
    client.force_login(analyst)
    page = client.get(url(demo_version, f"questions/{q15.pk}/answers/")).content.decode()
    assert "138****5678" in page and "1234 5678" not in page
    assert "1 / 2" in page  # fifty a page
    client.force_login(outbound_admin)
    page = client.get(url(demo_version, f"questions/{q15.pk}/answers/")).content.decode()
    assert "138 1234 5678" in page


def test_analysis_draft_save_and_read(client, demo_version, analyst, outbound_admin):
    demo_dataset(demo_version, count=10)
    client.force_login(analyst)
    draft = client.get(url(demo_version, "analysis/")).content.decode()
    assert "10 interviews are analysed" in draft
    assert "Weakest items:" in draft
    saved = client.post(
        url(demo_version, "analysis/"),
        {
            "background": "Background",
            "data_analysis": "Figures",
            "content_analysis": "Content",
            "suggestions": "Shorten the wait for an agent.",
        },
    )
    assert saved.status_code == 302
    analysis = Analysis.objects.get(version=demo_version)
    assert analysis.suggestions == "Shorten the wait for an agent."
    assert analysis.updated_by == analyst
    client.force_login(outbound_admin)
    page = client.get(url(demo_version, "analysis/")).content.decode()
    assert "Shorten the wait for an agent." in page and "<textarea" not in page
    denied = client.post(url(demo_version, "analysis/"), {"suggestions": "mine"})
    assert denied.status_code == 403
    assert Analysis.objects.get(version=demo_version).suggestions.startswith("Shorten")


def test_with_contact_attributes_the_page_filters_and_crosstabs_by_brand(
    client, demo_version, analyst, no_attribute_source
):
    from surveys.models import Response

    def source(responses):
        rows = Response.objects.filter(pk__in=responses.values("pk")).values_list("pk", flat=True)
        return {pk: {"brand": "神州行" if pk % 2 else "全球通", "region": "长沙"} for pk in rows}

    hooks.register_attribute_source(source)
    demo_dataset(demo_version, count=20)
    client.force_login(analyst)
    q1 = Question.objects.get(version=demo_version, code="Q1")
    page = client.get(
        url(demo_version),
        {"attribute": "brand", "attribute_value": "全球通", "row": q1.pk, "column": "attr:brand"},
    ).content.decode()
    assert "No contact attributes available" not in page
    assert "Segments come from the contacts’ brand" in page or "contacts' brand" in page
    assert "10 interviews in these tables." in page
    assert 'data-testid="crosstab-table"' in page and "全球通" in page
