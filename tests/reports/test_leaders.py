"""The leaders' page: who opens it, what it shows, the drill-down from the index to an
indicator, a campaign and its question table, and the monthly report (built on the first
working day of the month, e-mailed to the subscribers in their language, kept, printable
and downloadable as a workbook)."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from approvals.models import Holiday
from reports import monthly
from reports.models import Indicator, MonthlyReport, ReportSubscription
from tests.factories import UserFactory
from tests.reports.test_indicators import CC, MARCH, world  # noqa: F401

pytestmark = pytest.mark.django_db

URL = reverse("reports:leaders")


def test_who_opens_the_leaders_page(client, world):  # noqa: F811
    org, _orders, _q = world
    allowed = (org.centre_leader, org.cs_leader, org.analyst, org.outbound_admin)
    for user in allowed:
        client.force_login(user)
        page = client.get(URL, {"period": "2025-03"})
        assert page.status_code == 200, user
        # The navigation bar links to it.
        assert f'href="{URL}"' in page.content.decode()
    for user in (org.requester, org.leader, org.agent, org.nobody):
        client.force_login(user)
        assert client.get(URL).status_code == 403, user
    client.logout()
    assert client.get(URL).status_code == 302


def test_page_shows_index_indicators_and_complaint_target(client, world):  # noqa: F811
    org, _orders, _q = world
    client.force_login(org.centre_leader)
    page = client.get(URL, {"period": "2025-03"}).content.decode()
    assert 'data-testid="index"' in page
    assert 'data-testid="indicator-coverage"' in page
    assert "<svg" in page and "<script>" not in page
    assert "2025-03" in page
    # The complaint callbacks' figure against 78%.
    assert "78%" in page


def test_bad_period_is_told(client, world):  # noqa: F811
    org, _orders, _q = world
    client.force_login(org.analyst)
    page = client.get(URL, {"period": "March"})
    assert page.status_code == 400
    assert "2025-Q1" in page.content.decode()


def test_drill_down_to_the_campaign_question_table(client, world):  # noqa: F811
    org, orders, _q = world
    client.force_login(org.outbound_admin)
    network = Indicator.objects.get(code="network")
    page = client.get(
        reverse("reports:leaders_indicator", args=[network.pk]), {"period": "2025-03"}
    )
    assert page.status_code == 200
    coverage = Indicator.objects.get(code="coverage")
    assert reverse("reports:leaders_indicator", args=[coverage.pk]) in page.content.decode()
    page = client.get(
        reverse("reports:leaders_indicator", args=[coverage.pk]), {"period": "2025-03"}
    )
    link = reverse("campaign_reports:results", args=[orders[CC].pk]) + "#q-S1"
    assert link in page.content.decode()
    assert client.get(link.split("#")[0]).status_code == 200
    # A leader who does not read campaign results sees the campaign's question table here.
    client.force_login(org.centre_leader)
    page = client.get(
        reverse("reports:leaders_indicator", args=[coverage.pk]),
        {"period": "2025-03", "campaign": orders[CC].pk},
    ).content.decode()
    assert link not in page
    # Coverage (S1) in the complaint callbacks of March: 10 × code 4, 8 × code 2.
    assert '<td class="text-end">8</td><td class="text-end">18</td>' in page
    assert "44.4%" in page


def test_first_working_day_follows_the_calendar(db):
    # 1 November 2025 is a Saturday; a local holiday on Monday the 3rd moves it to Tuesday.
    november = datetime.date(2025, 11, 1)
    assert monthly.first_working_day(november) == datetime.date(2025, 11, 3)
    Holiday.objects.create(
        date=datetime.date(2025, 11, 3), name="Closed", is_working_day=False, source="local"
    )
    assert monthly.first_working_day(november) == datetime.date(2025, 11, 4)


def test_monthly_report_is_built_sent_kept_and_downloaded(client, world):  # noqa: F811
    org, _orders, _q = world
    org.centre_leader.email, org.centre_leader.language = "centre@example.com", "zh-hans"
    org.centre_leader.save()
    org.cs_leader.email, org.cs_leader.language = "cs@example.com", "en"
    org.cs_leader.save()
    for user in (org.centre_leader, org.cs_leader):
        ReportSubscription.objects.create(user=user)
    Indicator.objects.filter(code="hall").update(target=Decimal("99"))
    # 1 April 2025 is a Tuesday: the first working day.
    with time_machine.travel(datetime.datetime(2025, 4, 1, 8, tzinfo=datetime.UTC), tick=False):
        report = monthly.monthly_report_due()
        assert monthly.monthly_report_due() is None  # sent once
    assert report.month == MARCH and report.sent_at is not None
    assert len(mail.outbox) == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    assert (
        "满意度指数" in by_to["centre@example.com"].subject
        or "2025-03" in by_to["centre@example.com"].subject
    )
    english = by_to["cs@example.com"]
    assert english.subject == "Satisfaction index, 2025-03"
    assert "Improve Hall first" in english.body
    assert english.attachments[0][0] == "satisfaction-index-2025-03.xlsx"
    client.force_login(org.analyst)
    page = client.get(reverse("reports:leaders_report", args=[report.pk]))
    assert "Actionable suggestions" in page.content.decode() or "可操作" in page.content.decode()
    download = client.get(reverse("reports:leaders_report_download", args=[report.pk]))
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    sheet = book.worksheets[1]
    index_row = [c.value for c in sheet[2]]
    assert index_row[2] == pytest.approx(report.figures["index"]["percent"])
    assert index_row[5] == report.figures["index"]["n"]
    # The history: the page lists the kept reports.
    page = client.get(URL, {"period": "2025-03"}).content.decode()
    assert reverse("reports:leaders_report_download", args=[report.pk]) in page
    assert MonthlyReport.objects.count() == 1
    # In May, until the first working day (after the holidays), April's report waits.
    for day in (1, 2):
        Holiday.objects.create(
            date=datetime.date(2025, 5, day), name="May Day", is_working_day=False, source="local"
        )
    with time_machine.travel(datetime.datetime(2025, 5, 2, 8, tzinfo=datetime.UTC), tick=False):
        assert monthly.monthly_report_due() is None
    assert MonthlyReport.objects.count() == 1
    # A missed day is caught up: the beat asks again later in the month.
    with time_machine.travel(datetime.datetime(2025, 5, 20, 8, tzinfo=datetime.UTC), tick=False):
        april = monthly.monthly_report_due()
    assert april.month == datetime.date(2025, 4, 1) and len(mail.outbox) == 4


def test_the_administrator_keeps_the_tree_and_competitors(client, world):  # noqa: F811
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    for name in ("indicator", "competitorscore", "monthlyreport", "reportsubscription"):
        assert client.get(reverse(f"admin:reports_{name}_changelist")).status_code == 200
    coverage = Indicator.objects.get(code="coverage")
    page = client.get(reverse("admin:reports_indicator_change", args=[coverage.pk]))
    assert page.status_code == 200 and "best_first" in page.content.decode()
    page = client.post(
        reverse("admin:reports_competitorscore_add"),
        {"indicator": coverage.pk, "competitor": "Unicom", "month": "2025-03-17", "percent": "71"},
    )
    assert page.status_code == 302
    from reports.models import CompetitorScore

    assert CompetitorScore.objects.get().month == MARCH
