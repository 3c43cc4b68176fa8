"""Calling windows follow the official calendar (filled at migrate from chinesecalendar):
no calls on public holidays unless the campaign (or its kind) calls on them, make-up
working days called as weekdays, the centre's date deciding, local entries winning; the
settings page lists the coming days and sets the campaign's own rule."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from approvals import official_calendar
from approvals.models import Holiday
from outbound.agent import services as agent_services
from outbound.dialer import services, windows
from outbound.models import CampaignSettings, DialState, WorkOrder
from tests.html_forms import form_data, page_form
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign
from tests.outbound.test_dialer_fixtures import make_campaign, phones, start

pytestmark = pytest.mark.django_db

carrier, org, telephony_settings = fx.carrier, fx.org, fx.telephony_settings
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
D = datetime.date
EVERY_DAY = {str(day): ["09:00", "20:00"] for day in range(1, 8)}
WEEKDAYS = {str(day): ["09:00", "20:00"] for day in range(1, 6)}
SATISFACTION = WorkOrder.Kind.SATISFACTION
COMPLAINT = WorkOrder.Kind.COMPLAINT_CALLBACK


def at(*args, zone=SHANGHAI) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zone)


@pytest.fixture(autouse=True)
def _settings(telephony_settings, django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks


def _dial(order, now):
    with _capture(execute=True):
        return services.campaign_dial(campaign_id=order.pk, now=now)


def running(org, *, started, kind=SATISFACTION, hours=EVERY_DAY, holidays=None, count=1):
    """A running campaign whose contacts have been due since `started`."""
    with time_machine.travel(started, tick=False):
        return start(
            make_campaign(
                org, phones=phones(count), kind=kind, weekly_hours=hours, calls_on_holidays=holidays
            ),
            org,
        )


def rules(hours=EVERY_DAY, **fields) -> CampaignSettings:
    return CampaignSettings(weekly_hours=hours, **fields)


def test_the_defaults_let_complaint_callbacks_call_on_holidays(settings):
    assert tuple(settings.WAIHU_CAMPAIGN_KINDS) == tuple(WorkOrder.Kind.values)
    assert frozenset({"complaint_callback"}) == settings.WAIHU_HOLIDAY_CALLING_KINDS


# The dialer around Spring Festival 2026: 15-23 February off, Saturdays 14 and 28 worked.


def test_no_call_on_a_spring_festival_holiday(org, carrier):
    order = running(org, started=at(2026, 2, 13, 10))
    assert _dial(order, at(2026, 2, 16, 10)) == []
    assert carrier.calls == []
    state = DialState.objects.get(campaign=order)
    assert state.status == "pending"
    # The first day after the holidays, Tuesday 24 February, at the opening.
    assert state.next_attempt_at == at(2026, 2, 24, 9)
    assert len(_dial(order, at(2026, 2, 24, 9))) == 1


def test_a_complaint_callback_calls_on_the_holiday(org, carrier):
    order = running(org, started=at(2026, 2, 13, 10), kind=COMPLAINT)
    assert len(_dial(order, at(2026, 2, 16, 10))) == 1
    assert carrier.numbers == phones(1)


@pytest.mark.parametrize(
    ("kind", "holidays", "calls"),
    [(SATISFACTION, True, 1), (COMPLAINT, False, 0), (SATISFACTION, False, 0)],
)
def test_the_campaigns_own_setting_wins_over_its_kind(org, carrier, kind, holidays, calls):
    order = running(org, started=at(2026, 2, 13, 10), kind=kind, holidays=holidays)
    assert len(_dial(order, at(2026, 2, 17, 10))) == calls


def test_the_make_up_saturday_is_called_as_a_weekday(org, carrier):
    order = running(org, started=at(2026, 2, 13, 10), hours=WEEKDAYS)
    assert len(_dial(order, at(2026, 2, 14, 10))) == 1


def test_an_ordinary_saturday_is_not(org, carrier):
    order = running(org, started=at(2026, 2, 6, 10), hours=WEEKDAYS)
    assert _dial(order, at(2026, 2, 7, 10)) == []
    assert DialState.objects.get(campaign=order).next_attempt_at == at(2026, 2, 9, 9)


def test_the_agent_console_gives_no_contact_on_a_holiday(org):
    with time_machine.travel(at(2026, 2, 13, 10), tick=False):
        order = agent_campaign(org, phones=phones(1), calls_on_holidays=None)
    assert (
        agent_services.contact_reserve(campaign=order, agent=org.agent, now=at(2026, 2, 16, 10))
        is None
    )
    # The window is fully open on other days (00:00-23:59): it opens as the holidays end.
    assert DialState.objects.get(campaign=order).next_attempt_at == at(2026, 2, 24, 0)


def test_a_make_up_day_has_the_hours_of_the_first_working_weekday():
    # Calls on Monday mornings only; Mondays 16 and 23 February are holidays.
    only_monday = rules({"1": ["09:00", "12:00"]})
    assert windows.is_open(only_monday, at(2026, 2, 14, 10), SHANGHAI)
    assert not windows.is_open(only_monday, at(2026, 2, 14, 13), SHANGHAI)
    assert not windows.is_open(only_monday, at(2026, 2, 16, 10), SHANGHAI)
    assert windows.next_opening(only_monday, at(2026, 2, 14, 12, 30), SHANGHAI) == at(
        2026, 2, 28, 9
    )


# National Day 2026: 1-7 October off, Sunday 20 September and Saturday 10 October worked.


def test_national_day_week_has_no_calls_and_its_make_up_days_have():
    weekdays = rules(WEEKDAYS)
    assert windows.next_opening(weekdays, at(2026, 9, 30, 20, 30), SHANGHAI) == at(2026, 10, 8, 9)
    assert windows.is_open(weekdays, at(2026, 9, 20, 10), SHANGHAI)  # Sunday, worked
    assert windows.is_open(weekdays, at(2026, 10, 10, 10), SHANGHAI)  # Saturday, worked
    assert not windows.is_open(weekdays, at(2026, 10, 11, 10), SHANGHAI)  # an ordinary Sunday
    assert not windows.is_open(rules(), at(2026, 10, 4, 10), SHANGHAI)  # Sunday in the break


def test_the_holiday_is_the_centres_date_the_hours_the_contacts():
    every_day = rules()
    # Wednesday 30 September 15:00 in New York is 03:00 on 1 October in the centre.
    assert not windows.is_open(every_day, at(2026, 9, 30, 15, zone=NEW_YORK), NEW_YORK)
    assert windows.is_open(every_day, at(2026, 9, 30, 11, zone=NEW_YORK), NEW_YORK)
    # The centre's 8 October begins at noon on 7 October in New York, inside its hours.
    opening = windows.next_opening(every_day, at(2026, 9, 30, 15, zone=NEW_YORK), NEW_YORK)
    assert opening == at(2026, 10, 7, 12, zone=NEW_YORK)
    assert opening.tzinfo == NEW_YORK


def test_a_local_entry_wins_over_the_official_day(org, carrier):
    Holiday.objects.create(date=D(2026, 10, 2), name="中心值班", is_working_day=True)
    Holiday.objects.create(date=D(2026, 11, 20), name="中心活动日")
    order = running(org, started=at(2026, 9, 30, 10))
    assert _dial(order, at(2026, 10, 1, 10)) == []  # the official holiday
    assert len(_dial(order, at(2026, 10, 2, 10))) == 1  # the centre works that day
    other = running(org, started=at(2026, 11, 19, 10))
    assert _dial(other, at(2026, 11, 20, 10)) == []
    assert DialState.objects.get(campaign=other).next_attempt_at == at(2026, 11, 21, 9)


def test_the_calendar_is_read_once_per_settings(django_assert_num_queries):
    every_day = rules()
    with django_assert_num_queries(1):
        for day in range(1, 31):
            windows.is_open(every_day, at(2026, 9, day, 10), SHANGHAI)
        windows.next_opening(every_day, at(2026, 9, 30, 21), SHANGHAI)


# The settings page.


def _settings_page(client, org, order):
    client.force_login(org.outbound_admin)
    return client.get(reverse("campaigns:settings", args=[order.pk]))


def test_the_settings_page_lists_the_coming_days(client, org):
    order = running(org, started=at(2026, 9, 1, 10), hours=WEEKDAYS)
    Holiday.objects.create(date=D(2026, 9, 18), name="中心活动日")
    CampaignSettings.objects.filter(pk=order.pk).update(excluded_dates=["2026-09-16"])
    with time_machine.travel(at(2026, 9, 15, 10), tick=False):
        page = _settings_page(client, org, order)
    days = {day.date: day for day in page.context["coming_days"]}
    assert not days[D(2026, 9, 16)].calls  # excluded in the settings
    assert days[D(2026, 9, 18)].local and not days[D(2026, 9, 18)].calls
    assert days[D(2026, 9, 20)].calls and days[D(2026, 9, 20)].name == "国庆节（调休上班）"
    assert not days[D(2026, 9, 25)].calls  # Mid-autumn
    assert all(not days[D(2026, 10, n)].calls for n in range(1, 8))
    assert days[D(2026, 10, 10)].calls
    assert D(2026, 9, 19) not in days  # an ordinary Saturday
    assert b'data-date="2026-10-01" data-calls="no"' in page.content


def test_a_complaint_callbacks_coming_holidays_have_calls(client, org):
    order = running(org, started=at(2026, 9, 1, 10), kind=COMPLAINT)
    with time_machine.travel(at(2026, 9, 15, 10), tick=False):
        page = _settings_page(client, org, order)
    days = {day.date: day for day in page.context["coming_days"]}
    assert all(days[D(2026, 10, n)].calls for n in range(1, 8))


@pytest.mark.parametrize(("posted", "stored"), [("yes", True), ("no", False), ("", None)])
def test_the_holiday_setting_is_saved(client, org, posted, stored):
    order = running(org, started=at(2026, 9, 1, 10))
    path = reverse("campaigns:settings", args=[order.pk])
    page = _settings_page(client, org, order)
    data = form_data(page_form(page.content.decode(), path, page=path))
    data["calls_on_holidays"] = posted
    response = client.post(path, data)
    assert response.status_code == 302
    assert CampaignSettings.objects.get(pk=order.pk).calls_on_holidays is stored
    assert _settings_page(client, org, order).context["form"]["calls_on_holidays"].value() == posted


def test_the_settings_page_says_when_a_coming_year_is_missing(client, org):
    last = official_calendar.known_years()[-1]
    order = running(org, started=at(2026, 9, 1, 10))
    with time_machine.travel(at(last, 6, 1, 10), tick=False):
        page = _settings_page(client, org, order)
    assert page.context["calendar_missing"] == []
    assert b'data-testid="calendar-missing"' not in page.content
    # From December the coming six months reach into a year the package lacks.
    with time_machine.travel(at(last, 12, 2, 10), tick=False):
        page = _settings_page(client, org, order)
    assert page.context["calendar_missing"] == [last + 1]
    assert b'data-testid="calendar-missing"' in page.content
