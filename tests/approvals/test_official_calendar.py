"""China's official calendar in the working calendar: filled from the chinesecalendar
package at migrate (no network), kept in line by the command and the daily task, local
entries kept and in force, approval due times and reminders over Spring Festival and
National Day, and the warnings when next year is missing."""

import datetime
import socket
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from approvals import calendar_services, official_calendar, tasks
from approvals.calendar import WorkingCalendar, calendar_days
from approvals.models import Holiday, Step
from config.celery import app
from outbound.services import order_submit
from tests.factories import Org, UserFactory, make_order

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
# The last year the installed package knows: the next one is missing.
LAST = official_calendar.known_years()[-1]


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def official(day: D) -> Holiday:
    return Holiday.objects.official().get(date=day)


def test_the_package_knows_2026_with_its_make_up_days():
    assert 2026 in official_calendar.known_years()
    days = {day.date: day for day in official_calendar.official_days(2026)}
    # Spring Festival: 15 to 23 February off, Saturdays 14 and 28 February worked.
    assert all(not days[D(2026, 2, n)].is_working_day for n in range(15, 24))
    assert days[D(2026, 2, 16)].name == "春节"
    assert days[D(2026, 2, 14)].is_working_day and days[D(2026, 2, 28)].is_working_day
    assert days[D(2026, 2, 14)].name == "春节（调休上班）"
    # National Day: 1 to 7 October off, Sunday 20 September and Saturday 10 October worked.
    assert all(not days[D(2026, 10, n)].is_working_day for n in range(1, 8))
    assert days[D(2026, 9, 20)].is_working_day and days[D(2026, 10, 10)].is_working_day
    assert D(2026, 3, 2) not in days  # an ordinary Monday
    assert official_calendar.official_days(official_calendar.known_years()[-1] + 1) == []


def test_migrate_has_filled_the_official_calendar():
    """The test database was made by `migrate`, as `make run` makes one."""
    expected = sum(len(official_calendar.official_days(y)) for y in official_calendar.known_years())
    assert Holiday.objects.official().count() == expected
    assert not official(D(2026, 10, 1)).is_working_day
    assert official(D(2026, 10, 10)).is_working_day
    assert not Holiday.objects.local().exists()


def test_migrate_fills_the_calendar_with_no_network(monkeypatch):
    Holiday.objects.all().delete()

    def refuse(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    out = StringIO()
    call_command("migrate", verbosity=1, stdout=out)
    assert official(D(2026, 2, 14)).is_working_day
    assert not official(D(2026, 2, 16)).is_working_day
    assert Holiday.objects.official().filter(date__year=2026).count() == len(
        official_calendar.official_days(2026)
    )


def test_fill_is_idempotent_and_follows_the_package():
    assert calendar_services.calendar_official_fill().added == 0
    # A day renamed, a day dropped and a day the package does not have.
    Holiday.objects.official().filter(date=D(2026, 10, 2)).update(name="changed")
    Holiday.objects.official().filter(date=D(2026, 10, 3)).delete()
    Holiday.objects.create(date=D(2026, 11, 3), name="stray", source="official")
    result = calendar_services.calendar_official_fill(years=[2026])
    assert (result.added, result.changed, result.removed) == (1, 1, 1)
    assert official(D(2026, 10, 2)).name == "国庆节"
    assert official(D(2026, 10, 3)).name == "国庆节"
    assert not Holiday.objects.filter(date=D(2026, 11, 3)).exists()


def test_local_entries_stay_and_win_over_the_official_day():
    # The centre works on 2 October, and closes on an ordinary Friday.
    works = Holiday.objects.create(date=D(2026, 10, 2), name="值班", is_working_day=True)
    Holiday.objects.create(date=D(2026, 11, 20), name="中心活动日")
    result = calendar_services.calendar_official_fill()
    assert result.added == result.changed == result.removed == 0
    assert Holiday.objects.local().count() == 2
    days = calendar_days(D(2026, 10, 1), D(2026, 11, 30))
    assert days[D(2026, 10, 2)].source == "local" and days[D(2026, 10, 2)].is_working_day
    assert days[D(2026, 10, 1)].source == "official"
    cal = WorkingCalendar.load(D(2026, 10, 1))
    assert cal.is_working_day(D(2026, 10, 2))
    assert not cal.is_working_day(D(2026, 10, 1))
    assert not cal.is_working_day(D(2026, 11, 20))
    # Without the local entry the official day is in force again.
    works.delete()
    assert not WorkingCalendar.load(D(2026, 10, 1)).is_working_day(D(2026, 10, 2))


def test_the_command_fills_and_names_the_years():
    Holiday.objects.official().filter(date__year=2025).delete()
    out = StringIO()
    call_command("calendar_fill", stdout=out, stderr=StringIO())
    assert f"{len(official_calendar.official_days(2025))} days added" in out.getvalue()
    assert Holiday.objects.official().filter(date__year=2025).exists()
    with pytest.raises(CommandError, match="2999"):
        call_command("calendar_fill", "--year", "2999")


def test_the_daily_task_adds_what_is_missing():
    Holiday.objects.official().filter(date__year=2026).delete()
    assert tasks.fill_official_calendar.delay().get() == len(official_calendar.official_days(2026))
    assert official(D(2026, 10, 1))


def test_beat_fills_daily_and_warns_on_december_mondays():
    schedule = app.conf.beat_schedule
    fill = schedule["approvals-calendar-fill"]
    assert fill["task"] == tasks.fill_official_calendar.name
    every_day = fill["schedule"]
    assert (every_day.hour, every_day.minute) == ({5}, {40})
    assert len(every_day.day_of_month) == 31 and len(every_day.month_of_year) == 12
    warn = schedule["approvals-calendar-missing"]
    assert warn["task"] == tasks.warn_missing_calendar.name
    assert warn["schedule"].month_of_year == {12} and warn["schedule"].day_of_week == {1}
    assert {tasks.fill_official_calendar.name, tasks.warn_missing_calendar.name} <= set(app.tasks)


# Approval time limits over the holidays, through the real submit service.


@pytest.fixture
def org():
    return Org()


def _submit_with_limit(org, hours, moment):
    Step.objects.filter(chain=org.chain, position=1).update(time_limit_hours=hours)
    order = make_order(org.requester)
    with time_machine.travel(moment, tick=False):
        order_submit(order=order, user=org.requester)
    order.approval.refresh_from_db()
    return order.approval


def test_a_step_due_time_skips_the_national_day_week(org):
    # Wednesday 30 September 17:00: one hour that day, then 1-7 October off.
    request = _submit_with_limit(org, 8, at(2026, 9, 30, 17))
    assert request.step_due_at == at(2026, 10, 8, 16)
    # 27 hours: 1 + 9 (Thursday 8) + 9 (Friday 9) + 8 on the make-up Saturday 10 October.
    request = _submit_with_limit(org, 27, at(2026, 9, 30, 17))
    assert request.step_due_at == at(2026, 10, 10, 17)


def test_a_step_due_time_over_spring_festival(org):
    # Friday 13 February 17:00: one hour, then the make-up Saturday 14 February.
    assert _submit_with_limit(org, 8, at(2026, 2, 13, 17)).step_due_at == at(2026, 2, 14, 16)
    # 17 hours: 1 + 9 on the Saturday, 15-23 February off, 7 on Tuesday 24 February.
    assert _submit_with_limit(org, 17, at(2026, 2, 13, 17)).step_due_at == at(2026, 2, 24, 16)


def test_no_reminder_during_the_holiday_week(org, django_capture_on_commit_callbacks):
    request = _submit_with_limit(org, 8, at(2026, 9, 30, 17))
    from approvals import services

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.overdue_steps_remind(now=at(2026, 10, 7, 12)) == 0
        assert services.overdue_steps_remind(now=at(2026, 10, 8, 16, 1)) == 1
    assert request.step_due_at == at(2026, 10, 8, 16)
    assert len(mail.outbox) == 1


# Warnings when next year is missing.


def test_warnings_name_the_missing_year_in_december_only():
    assert calendar_services.calendar_warnings(today=D(LAST, 11, 30)) == []
    (warning,) = calendar_services.calendar_warnings(today=D(LAST, 12, 1))
    assert str(LAST + 1) in warning and "calendar_fill" in warning
    Holiday.objects.create(date=D(LAST + 1, 1, 1), name="元旦", source="official")
    assert calendar_services.calendar_warnings(today=D(LAST, 12, 1)) == []
    # The current year missing is told at any time.
    assert str(LAST + 3) in calendar_services.calendar_warnings(today=D(LAST + 3, 6, 1))[0]


def test_the_system_administrators_are_mailed_in_december():
    zh = UserFactory(username="root", email="root@example.com", is_superuser=True)
    en = UserFactory(username="ops", email="ops@example.com", is_superuser=True, language="en")
    UserFactory(username="nomail", email="", is_superuser=True)
    UserFactory(username="gone", email="gone@example.com", is_superuser=True, is_active=False)
    UserFactory(username="staff", email="staff@example.com")
    assert calendar_services.calendar_missing_warn(today=D(LAST, 11, 30)) == 0
    assert calendar_services.calendar_missing_warn(today=D(LAST, 12, 7)) == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {zh.email, en.email}
    assert str(LAST + 1) in by_address[en.email].subject
    assert "official calendar" in by_address[en.email].subject
    assert str(LAST + 1) in by_address[zh.email].body
    mail.outbox.clear()
    Holiday.objects.create(date=D(LAST + 1, 1, 1), name="元旦", source="official")
    assert calendar_services.calendar_missing_warn(today=D(LAST, 12, 14)) == 0
    assert mail.outbox == []


def test_the_warning_task_runs_the_service():
    UserFactory(username="root", email="root@example.com", is_superuser=True)
    with time_machine.travel(at(LAST, 12, 7, 9), tick=False):
        assert tasks.warn_missing_calendar.delay().get() == 1


@pytest.mark.django_db(transaction=True)
def test_flush_leaves_the_official_calendar_filled():
    call_command("flush", interactive=False, verbosity=0)
    assert Holiday.objects.official().filter(date__year=2026).count() == len(
        official_calendar.official_days(2026)
    )
