"""The analyst's journey in Chromium: the results of the demo questionnaire, a cross-tab,
the suggestions of the analysis, and an Excel export downloaded and opened."""

import pytest
from openpyxl import load_workbook

from accounts.roles import Role
from surveys.demo import demo_questionnaire_create
from surveys.models import Question
from tests.e2e.conftest import login
from tests.factories import UserFactory, ensure_reference_data
from tests.reports.conftest import install_index_defaults
from tests.reports.data import demo_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analyst_reads_crosstabs_writes_and_exports(page, live_server, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    ensure_reference_data()
    install_index_defaults()
    analyst = UserFactory(username="ana", roles=[Role.ANALYST])
    version = demo_questionnaire_create()
    demo_dataset(version, count=30, agents=[analyst])
    q1 = Question.objects.get(version=version, code="Q1")
    q9 = Question.objects.get(version=version, code="Q9")

    login(page, live_server, "ana")
    page.goto(f"{live_server.url}/reports/")
    page.click(f"a:has-text('{version.questionnaire.name}')")
    page.wait_for_selector("[data-testid=table-Q1]")
    assert "30 interviews" in page.inner_text("[data-testid=interview-count]")
    assert "Q3" in page.inner_text("[data-testid=segment-source]")
    assert page.locator("[data-testid=table-Q9] svg").count() == 1

    page.select_option("[data-testid=crosstab-form] select[name=row]", str(q9.pk))
    page.select_option("[data-testid=crosstab-form] select[name=column]", f"q:{q1.pk}")
    page.click("[data-testid=crosstab-form] button[type=submit]")
    page.wait_for_selector("[data-testid=crosstab-table]")
    assert "χ²" in page.inner_text("[data-testid=crosstab-table]")

    page.click("[data-testid=analysis-link]")
    page.wait_for_selector("[data-testid=analysis-form]")
    assert "interviews are analysed" in page.input_value("textarea[name=background]")
    page.fill("textarea[name=suggestions]", "缩短等待接通的时间。")
    page.click("[data-testid=analysis-form] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.input_value("textarea[name=suggestions]") == "缩短等待接通的时间。"

    page.goto(f"{live_server.url}/reports/versions/{version.pk}/?row={q9.pk}&column=q:{q1.pk}")
    page.click("[data-testid=export]")
    link = page.locator("[data-testid=export-download]")
    link.wait_for(state="visible")
    with page.expect_download() as download_info:
        link.click()
    target = tmp_path / "results.xlsx"
    download_info.value.save_as(target)

    book = load_workbook(target)
    assert book.sheetnames[0] == "Summary"
    assert {"Q1", "Q15", "Cross-tabs", "Data", "Data (labels)", "Codebook", "Open answers"} <= set(
        book.sheetnames
    )
    summary = [cell for row in book["Summary"].iter_rows(values_only=True) for cell in row]
    assert "缩短等待接通的时间。" in summary
    crosstabs = [row[0] for row in book["Cross-tabs"].iter_rows(values_only=True)]
    assert f"{q9.code} {q9.text}" in crosstabs
    assert book["Data"].max_row == 31


def test_campaign_results_analysis_and_export_for_analyst_and_requester(
    page, live_server, tmp_path, settings
):
    """From the work order to its campaign's results: a brand cross-tab from the contacts,
    the analysis drafted from the order and written by the analyst, the campaign's workbook;
    then the requester reads the analysis of their own order."""
    from approvals.models import ApprovalRequest
    from outbound.models import WorkOrder
    from outbound.services import order_submit
    from tests.factories import Org, make_order
    from tests.reports.campaign_data import build_campaign

    settings.MEDIA_ROOT = tmp_path / "media"
    ensure_reference_data()
    install_index_defaults()
    org = Org()
    version = demo_questionnaire_create()
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    ApprovalRequest.objects.update(status="approved", current_step=None)
    WorkOrder.objects.filter(pk=order.pk).update(
        questionnaire=version, run_status=WorkOrder.RunStatus.READY
    )
    order.refresh_from_db()
    a = UserFactory(username="agent_a", display_name="Agent A", roles=[Role.CALL_AGENT])
    b = UserFactory(username="agent_b", display_name="Agent B", roles=[Role.CALL_AGENT])
    build_campaign(order, a, b, extra_completes=17)
    q9 = Question.objects.get(version=version, code="Q9")

    login(page, live_server, org.analyst.username)
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.click("[data-testid=results-link]")
    page.wait_for_selector("[data-testid=aapor-table]")
    assert page.inner_text("[data-figure=contacts]") == "35"
    assert "20 interviews" in page.inner_text("[data-testid=interview-count]")
    assert page.locator("[data-testid=table-Q9] svg").count() == 1

    page.select_option("[data-testid=crosstab-form] select[name=row]", str(q9.pk))
    page.select_option("[data-testid=crosstab-form] select[name=column]", "attr:brand")
    page.click("[data-testid=crosstab-form] button[type=submit]")
    page.wait_for_selector("[data-testid=crosstab-table]")
    assert "全球通" in page.inner_text("[data-testid=crosstab-table]")

    page.click("[data-testid=analysis-link]")
    page.wait_for_selector("[data-testid=analysis-form]")
    assert order.title in page.input_value("textarea[name=background]")
    assert "35 contacts" in page.input_value("textarea[name=data_analysis]")
    page.fill("textarea[name=suggestions]", "回访前先核对投诉工单。")
    page.click("[data-testid=analysis-form] button[type=submit]")
    page.wait_for_selector(".alert-success")

    page.go_back()
    page.go_back()
    page.wait_for_selector("[data-testid=crosstab-table]")
    page.click("[data-testid=export]")
    link = page.locator("[data-testid=export-download]")
    link.wait_for(state="visible")
    with page.expect_download() as download_info:
        link.click()
    target = tmp_path / "campaign.xlsx"
    download_info.value.save_as(target)
    book = load_workbook(target)
    assert book.sheetnames[:2] == ["Summary", "Call outcomes"]
    assert {"Q9", "Cross-tabs", "Data", "Data (labels)", "Codebook"} <= set(book.sheetnames)
    summary = [cell for row in book["Summary"].iter_rows(values_only=True) for cell in row]
    assert "回访前先核对投诉工单。" in summary
    crosstabs = [row[0] for row in book["Cross-tabs"].iter_rows(values_only=True)]
    assert f"{q9.code} {q9.text}" in crosstabs
    assert book["Data"].max_row == 21

    page.context.clear_cookies()
    login(page, live_server, org.requester.username)
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.click("[data-testid=results-link]")
    page.click("[data-testid=analysis-link]")
    page.wait_for_selector("text=回访前先核对投诉工单。")
    assert page.locator("[data-testid=analysis-form]").count() == 0


def test_narrowed_results_over_many_interviews_show_progress_then_the_tables(
    page, live_server, settings
):
    settings.WAIHU_RESULTS_INLINE_LIMIT = 5
    ensure_reference_data()
    install_index_defaults()
    UserFactory(username="ana", roles=[Role.ANALYST])
    version = demo_questionnaire_create()
    demo_dataset(version, count=12)

    login(page, live_server, "ana")
    seen = []
    page.on(
        "response",
        lambda response: seen.append(response.url) if "/computed/" in response.url else None,
    )
    first = page.goto(f"{live_server.url}/reports/versions/{version.pk}/?date_from=2026-03-03")
    # The page served first says it is computing (its script reloads it once ready).
    assert 'data-testid="computing"' in first.text()
    page.wait_for_selector("[data-testid=table-Q1]")
    assert page.locator("[data-testid=computed-note]").count() == 1
    assert any(url.endswith("/status/") for url in seen)

    page.click("[data-testid=computed-again]")
    page.wait_for_selector("[data-testid=table-Q1]")
    assert "date_from=2026-03-03" in page.url
