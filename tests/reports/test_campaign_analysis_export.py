"""A campaign's own analysis and Excel export: the analyst writes the four sections from a
draft filled in from the work order and the call figures; the requester reads them and
exports the campaign; the workbook covers this campaign's interviews only, with its call
outcomes, and masks phone numbers for those who may not see them."""

import random

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports.models import Analysis, ExportJob
from surveys.models import Answer, Question
from tests.factories import Org
from tests.reports.campaign_data import D2, at
from tests.reports.data import bulk_interviews, demo_answers
from tests.reports.libreoffice import sheet_rows
from tests.reports.test_campaign_results import _campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    return Org()


def analysis_url(order) -> str:
    return reverse("campaign_reports:analysis", args=[order.pk])


def export_url(order) -> str:
    return reverse("campaign_reports:export_start", args=[order.pk])


def test_the_analyst_writes_from_a_draft_of_the_order_and_its_figures(client, org, demo_version):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.analyst)
    page = client.get(analysis_url(order))
    assert page.status_code == 200
    form = page.context["form"]
    background = form["background"].value()
    assert order.title in background and order.purpose in background
    assert order.target_description in background
    data = form["data_analysis"].value()
    # The hand-counted figures of tests/reports/campaign_data.py.
    assert "18 contacts, 19 calls placed, 10 contacts reached" in data
    assert "RR1 21.4%" in data and "COOP1 50.0%" in data
    assert "Completed 3, partial 1, refused 1" in data
    assert "Weakest items" in form["content_analysis"].value()

    saved = client.post(
        analysis_url(order),
        {
            "background": background,
            "data_analysis": data,
            "content_analysis": "Q9 is weakest.",
            "suggestions": "缩短等待接通的时间。",
        },
    )
    assert saved.status_code == 302 and saved.url == analysis_url(order)
    analysis = Analysis.objects.get(work_order=order)
    assert analysis.version is None and analysis.updated_by == org.analyst
    assert analysis.suggestions == "缩短等待接通的时间。"
    # A version-wide analysis of the same questionnaire is a different thing.
    assert not Analysis.objects.filter(version=demo_version).exists()


def test_the_requester_reads_the_analysis_but_cannot_write_it(client, org, demo_version):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.requester)
    page = client.get(analysis_url(order)).content.decode()
    assert "No analysis has been written yet." in page
    assert client.post(analysis_url(order), {"suggestions": "x"}).status_code == 403
    Analysis.objects.create(work_order=order, suggestions="改进话术。", updated_by=org.analyst)
    page = client.get(analysis_url(order)).content.decode()
    assert "改进话术。" in page and "<textarea" not in page
    # Their results page links to it, and nobody else's order is theirs to read.
    results = client.get(reverse("campaign_reports:results", args=[order.pk])).content.decode()
    assert analysis_url(order) in results and export_url(order) in results
    for user in (org.other_requester, org.leader, org.nobody):
        client.force_login(user)
        assert client.get(analysis_url(order)).status_code == 404
        assert client.post(export_url(order)).status_code == 404


def _export(client, order, data, capture):
    with capture(execute=True):
        started = client.post(export_url(order), data)
    assert started.status_code == 302
    job = ExportJob.objects.latest("pk")
    status = client.get(reverse("reports:export_status", args=[job.pk])).json()
    assert status["status"] == "done", status
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert order.title in download["Content-Disposition"]
    return job, b"".join(download.streaming_content)


def test_the_requester_exports_the_campaign_only(
    client, org, demo_version, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    order, a, _b, _contacts = _campaign(org, demo_version)
    # Five interviews with the same version taken outside the campaign.
    rng = random.Random(3)
    bulk_interviews(demo_version, [(demo_answers(rng), a, at(D2, "11:00")) for _ in range(5)])
    Analysis.objects.create(work_order=order, suggestions="改进话术。", updated_by=org.analyst)
    client.force_login(org.requester)
    job, content = _export(client, order, {}, django_capture_on_commit_callbacks)
    assert job.work_order == order and job.created_by == org.requester and not job.show_phones
    target = tmp_path / "campaign.xlsx"
    target.write_bytes(content)
    book = load_workbook(target)
    assert book.sheetnames[:2] == ["Summary", "Call outcomes"]
    assert {"Q1", "Cross-tabs", "Data", "Data (labels)", "Codebook", "Open answers"} <= set(
        book.sheetnames
    )
    summary = [cell for row in book["Summary"].iter_rows(values_only=True) for cell in row]
    assert f"#{order.pk} {order.title}" in summary and order.purpose in summary
    assert "改进话术。" in summary
    outcome_rows = list(book["Call outcomes"].iter_rows(values_only=True))
    finals = outcome_rows[1 : [row[0] for row in outcome_rows].index("Total") + 1]
    calls = {row[0]: row[3] for row in finals}
    assert calls["Total"] == 18 and calls["Interview completed"] == 3
    assert len(book["Call outcomes"]._charts) == 1 and len(book["Q9"]._charts) == 1
    # LibreOffice opens it and reads the same outcomes.
    read = {row[0]: row[3] for row in sheet_rows(target, 2) if len(row) > 3}
    assert {label: read[label] for label in calls} == {k: str(n) for k, n in calls.items()}
    # Three completed interviews in this campaign, none of the five outside it.
    data = list(book["Data"].iter_rows(values_only=True))
    assert len(data) == 4
    header = data[0]
    assert header[6:11] == ("phone", "name", "brand", "region", "segment")
    phones = sorted(row[6] for row in data[1:])
    assert phones == ["139****0000", "139****0001", "139****0002"]
    assert sorted(row[7] for row in data[1:]) == ["c1", "c2", "c3"]
    q1 = header.index("Q1")
    stored = dict(
        Answer.objects.filter(
            question=Question.objects.get(version=demo_version, code="Q1"),
            response__interview__campaign=order,
        ).values_list("response_id", "selected__choice__code")
    )
    assert {row[0]: row[q1] for row in data[1:]} == stored


def test_the_export_keeps_the_page_filters_and_admins_see_phones(
    client, org, demo_version, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.outbound_admin)
    job, content = _export(
        client, order, {"segment": "young", "statuses": "all"}, django_capture_on_commit_callbacks
    )
    assert job.show_phones
    assert job.options["filters"]["segment"] == "young"
    target = tmp_path / "young.xlsx"
    target.write_bytes(content)
    data = list(load_workbook(target, read_only=True)["Data"].iter_rows(values_only=True))
    rows = data[1:]
    # Every interview of the young segment (odd positions: c2, c4, c6, c14 ...), phones whole.
    assert rows and all(row[10] == "young" for row in rows)
    assert all(row[6].startswith("+86139") for row in rows)


def test_bad_export_filters_are_refused(client, org, demo_version):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.analyst)
    response = client.post(
        export_url(order), {"date_from": "2026-03-05", "date_to": "2026-03-01"}, follow=True
    )
    assert "The start date is after the end date." in response.content.decode()
    assert not ExportJob.objects.exists()


def test_campaign_tables_show_specials_summaries_and_open_answers(client, org, demo_version):
    order, a, _b, _contacts = _campaign(org, demo_version, extra_completes=12)
    rng = random.Random(5)
    bulk_interviews(demo_version, [(demo_answers(rng), a, at(D2, "11:00")) for _ in range(5)])
    client.force_login(org.analyst)
    page = client.get(reverse("campaign_reports:results", args=[order.pk])).content.decode()
    assert "15 interviews in these tables." in page
    # The rating question's summary and the weakest items of the index.
    q9 = page.split('data-testid="table-Q9"')[1].split("</section>")[0]
    assert "Mean" in q9 and "Top two boxes" in q9
    assert 'data-testid="weakest"' in page
    q15 = Question.objects.get(version=demo_version, code="Q15")
    link = reverse("campaign_reports:open_answers", args=[order.pk, q15.pk])
    assert link in page
    listing = client.get(link)
    assert listing.status_code == 200
    shown = {answer.response_id for answer, _text in listing.context["rows"]}
    campaign_responses = set(
        order.interviews.filter(response__status="completed").values_list("response", flat=True)
    )
    assert shown and shown <= campaign_responses


def test_the_results_index_lists_the_campaigns(client, org, demo_version):
    order, _a, _b, _contacts = _campaign(org, demo_version)
    client.force_login(org.analyst)
    page = client.get(reverse("reports:version_list")).content.decode()
    listing = page.split('data-testid="campaign-list"')[1].split("</table>")[0]
    row = listing.split(reverse("campaign_reports:results", args=[order.pk]))[1].split("</tr>")[0]
    # 18 contacts, 3 completed interviews (tests/reports/campaign_data.py).
    assert '<td class="text-end">18</td><td class="text-end">3</td>' in row


def test_the_results_index_queries_do_not_grow_with_campaigns(client, org, demo_version):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from outbound.models import WorkOrder
    from tests.factories import make_order

    def add_campaign():
        order = make_order(org.requester)
        WorkOrder.objects.filter(pk=order.pk).update(
            questionnaire=demo_version, run_status=WorkOrder.RunStatus.READY
        )

    client.force_login(org.analyst)
    add_campaign()
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("reports:version_list")).status_code == 200
    for _n in range(4):
        add_campaign()
    with CaptureQueriesContext(connection) as five:
        page = client.get(reverse("reports:version_list")).content.decode()
    assert page.count(reverse("campaign_reports:results", args=[0])[:-2]) >= 5
    assert len(five) == len(one)


def test_every_cell_is_readable_on_paper(org, demo_version, tmp_path):
    """Printed by LibreOffice, no number or date shows as ### (a column too narrow), every
    sheet is one page wide with its header repeated, and the data's header is frozen."""
    from django.utils import translation

    from reports.excel import workbook_write
    from reports.results import results_build
    from tests.reports.libreoffice import printed_text

    order, _a, _b, _contacts = _campaign(org, demo_version, extra_completes=4)
    org.requester.display_name = "张经理"
    org.requester.save(update_fields=["display_name"])
    path = tmp_path / "campaign.xlsx"
    with translation.override("zh-hans"):
        workbook_write(results=results_build(version=demo_version, campaign=order), target=path)
    book = load_workbook(path)
    for ws in book.worksheets:
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
    data = book.worksheets[[ws.title for ws in book.worksheets].index("数据")]
    assert data.print_title_rows == "$1:$1" and data.freeze_panes == "A2"
    started = data["D1"].value
    assert started == "started_at" and data.column_dimensions["D"].width >= 19
    # People by their display name, never their login name.
    agents = {row[5] for row in data.iter_rows(min_row=2, values_only=True)}
    assert "Agent A" in agents and not {"agent_a", "agent_b"} & agents
    summary = [tuple(r[:2]) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert ("需求人", "张经理") in summary
    text = printed_text(path)
    assert "##" not in text
    assert order.title in text and "Agent A" in text
