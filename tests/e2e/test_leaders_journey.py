"""A leader's journey in Chromium: the satisfaction index of a month, drilled down from the
index to an indicator, to a campaign and to its question table, and the monthly report
downloaded and opened."""

import datetime
from importlib import import_module

import pytest
from django.apps import apps
from openpyxl import load_workbook

from reports import monthly
from tests.e2e.conftest import login
from tests.factories import Org
from tests.reports import indicator_data as data
from tests.reports.conftest import install_index_defaults

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARCH = datetime.date(2025, 3, 1)


def test_leader_drills_down_and_downloads_the_monthly_report(page, live_server, tmp_path):
    org = Org()
    install_index_defaults()
    import_module("reports.migrations.0005_indicators").install(apps, None)
    version = data.questionnaire(scales=2)
    q = {question.code: question for question in version.questions.all()}
    data.leaf("coverage", "network", q["S1"])
    data.leaf("hall", "business", q["S2"])
    order = data.campaign(org.requester, version)
    day = data.moment(MARCH.replace(day=10))
    data.interviews(
        order,
        [
            ("Easyown", "Changsha", day, {"S1": 1, "S2": 2}, 12),
            ("Easyown", "Changsha", day, {"S1": 4, "S2": 1}, 4),
            ("GoTone", "Zhuzhou", day, {"S1": 2, "S2": 5}, 6),
        ],
    )
    report = monthly.report_build(MARCH)

    login(page, live_server, org.centre_leader.username)
    page.click("nav a:has-text('Satisfaction index')")
    page.fill("input[name=period]", "2025-03")
    page.click("[data-testid=leader-filters] button[type=submit]")
    page.wait_for_selector("[data-testid=indicator-coverage]")
    index = page.inner_text("[data-testid=index]")
    assert index.endswith("%") and index != "–"
    assert page.locator("svg.waihu-chart").count() == 1
    # Bases under 30 are flagged, not hidden.
    assert page.locator("[data-testid=small-base]").count() == 1

    page.click("[data-testid=indicator-network] a")
    page.wait_for_selector("[data-testid=children]")
    page.click("[data-testid=children] a:has-text('Coverage')")
    page.wait_for_selector("[data-testid=campaigns]")
    page.click("[data-testid=campaign-link]")
    page.wait_for_selector("[data-testid=question-table]")
    # S1 in March: 12 × code 1 and 6 × code 2 in the top two, of 22 valid answers.
    row = page.inner_text("[data-testid=question-S1]")
    assert "18" in row and "22" in row and "81.8%" in row

    page.click("nav a:has-text('Satisfaction index')")
    with page.expect_download() as download_info:
        page.click("[data-testid=download-2025-03]")
    target = tmp_path / "report.xlsx"
    download_info.value.save_as(target)
    book = load_workbook(target)
    assert book.worksheets[0]["A1"].value == "Satisfaction index, 2025-03"
    assert book.worksheets[1]["C2"].value == pytest.approx(report.figures["index"]["percent"])
