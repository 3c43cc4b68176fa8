import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from approvals.calendar import WorkingCalendar
from approvals.models import Holiday

TZ = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


def calendar(exceptions=None) -> WorkingCalendar:
    return WorkingCalendar(
        working_days=frozenset({1, 2, 3, 4, 5}),
        day_start=datetime.time(9),
        day_end=datetime.time(18),
        exceptions=exceptions or {},
    )


def test_hours_within_a_working_day():
    assert calendar().add_working_hours(at(2026, 11, 23, 10), 3) == at(2026, 11, 23, 13)


def test_hours_run_over_into_the_next_morning():
    # Monday 16:00 + 8h = 2h on Monday, 6h on Tuesday from 09:00.
    assert calendar().add_working_hours(at(2026, 11, 23, 16), 8) == at(2026, 11, 24, 15)


def test_weekend_is_skipped():
    # Friday 17:00 + 2h -> Monday 10:00.
    assert calendar().add_working_hours(at(2026, 11, 27, 17), Decimal("2")) == at(2026, 11, 30, 10)


def test_start_outside_hours_counts_from_next_opening():
    assert calendar().add_working_hours(at(2026, 11, 23, 20), 1) == at(2026, 11, 24, 10)
    assert calendar().add_working_hours(at(2026, 11, 23, 6), 1) == at(2026, 11, 23, 10)


def test_holiday_and_make_up_day():
    cal = calendar({datetime.date(2026, 11, 30): False, datetime.date(2026, 11, 28): True})
    # Friday 17:00 + 2h: 1h Friday, Saturday is worked (make-up day) -> Saturday 10:00.
    assert cal.add_working_hours(at(2026, 11, 27, 17), 2) == at(2026, 11, 28, 10)
    # Saturday 17:00 + 2h: Sunday off, Monday is a holiday -> Tuesday 10:00.
    assert cal.add_working_hours(at(2026, 11, 28, 17), 2) == at(2026, 12, 1, 10)


def test_working_hours_between():
    cal = calendar()
    assert cal.working_hours_between(at(2026, 11, 27, 17), at(2026, 11, 30, 10)) == 2
    assert cal.working_hours_between(at(2026, 11, 23, 10), at(2026, 11, 23, 9)) == 0


@pytest.mark.django_db
def test_loaded_calendar_reads_holidays_and_settings(settings):
    settings.WORKING_DAY_START = datetime.time(8, 30)
    Holiday.objects.create(date=datetime.date(2026, 11, 24), name="Test holiday")
    cal = WorkingCalendar.load(datetime.date(2026, 11, 23))
    assert not cal.is_working_day(datetime.date(2026, 11, 24))
    assert cal.add_working_hours(at(2026, 11, 23, 17), 2) == at(2026, 11, 25, 9, 30)
