"""Complaint callbacks at risk of missing their deadline: the calling days left are the
days the campaign can actually call, its weekday hours, its dates and the calendar's
holidays (unless it calls on them) counted."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from outbound.dialer import selectors
from outbound.models import Contact, WorkOrder
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones

pytestmark = pytest.mark.django_db

org, telephony_settings = fx.org, fx.telephony_settings
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
EVERY_DAY = {str(day): ["09:00", "20:00"] for day in range(1, 8)}
WEEKDAYS = {str(day): ["09:00", "20:00"] for day in range(1, 6)}


@pytest.fixture(autouse=True)
def _one_day_margin(telephony_settings):
    telephony_settings.WAIHU_DEADLINE_RISK_DAYS = 1


def _complaints(org, deadlines, **fields):
    order = make_campaign(org, kind=WorkOrder.Kind.COMPLAINT_CALLBACK, **fields)
    Contact.objects.bulk_create(
        [
            Contact(campaign=order, phone=phone, deadline=deadline)
            for phone, deadline in zip(phones(len(deadlines)), deadlines, strict=True)
        ]
    )
    order.refresh_from_db()
    return order


def _at_risk(order, today):
    return {
        contact.deadline: contact.calling_days_left
        for contact in selectors.contacts_at_risk(campaign=order, today=today)
    }


def test_at_risk_counts_the_days_without_calls(org):
    deadlines = [D(2026, 10, 1), D(2026, 10, 5), D(2026, 10, 8), D(2026, 10, 9)]
    # A complaint callback set not to call on holidays: from 30 September the next calling
    # day is 8 October, so deadlines in the break and on 8 October are at risk.
    quiet = _complaints(org, deadlines, weekly_hours=EVERY_DAY, calls_on_holidays=False)
    assert _at_risk(quiet, D(2026, 9, 30)) == {
        D(2026, 10, 1): 0,
        D(2026, 10, 5): 0,
        D(2026, 10, 8): 1,
    }
    # One that calls on holidays (its kind's default) has every day of the break.
    calling = _complaints(org, deadlines, weekly_hours=EVERY_DAY, calls_on_holidays=None)
    assert _at_risk(calling, D(2026, 9, 30)) == {D(2026, 10, 1): 1}


def test_at_risk_counts_weekdays_without_hours(org):
    # Friday 20 November, no calls at weekends: Monday's deadline has one calling day left.
    order = _complaints(org, [D(2026, 11, 23), D(2026, 11, 24)], weekly_hours=WEEKDAYS)
    assert _at_risk(order, D(2026, 11, 20)) == {D(2026, 11, 23): 1}


def test_at_risk_lists_every_deadline_when_the_campaign_ends(org):
    order = _complaints(
        org, [D(2026, 11, 30), D(2026, 12, 20)], weekly_hours=EVERY_DAY, ends_on=D(2026, 11, 24)
    )
    assert _at_risk(order, D(2026, 11, 23)) == {D(2026, 11, 30): 1, D(2026, 12, 20): 1}


def test_the_campaign_page_shows_the_calling_days_left(client, org):
    order = _complaints(org, [D(2026, 10, 8)], weekly_hours=EVERY_DAY, calls_on_holidays=False)
    client.force_login(org.outbound_admin)
    with time_machine.travel(datetime.datetime(2026, 9, 30, 10, tzinfo=SHANGHAI), tick=False):
        page = client.get(reverse("campaigns:detail", args=[order.pk]))
    (contact,) = page.context["at_risk"]
    assert contact.deadline == D(2026, 10, 8)
    assert b'data-testid="calling-days-left">1<' in page.content


def test_a_larger_margin_counts_more_calling_days(org, telephony_settings):
    telephony_settings.WAIHU_DEADLINE_RISK_DAYS = 2
    order = _complaints(
        org, [D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10)], calls_on_holidays=False
    )
    # 8 and 9 October are the two calling days after 30 September.
    assert _at_risk(order, D(2026, 9, 30)) == {D(2026, 10, 8): 1, D(2026, 10, 9): 2}


def test_other_kinds_have_no_deadlines_at_risk(org):
    order = make_campaign(org, kind=WorkOrder.Kind.SATISFACTION)
    Contact.objects.create(campaign=order, phone=phones(1)[0], deadline=D(2026, 10, 1))
    assert selectors.contacts_at_risk(campaign=order, today=D(2026, 9, 30)) == []
