"""The working calendar: weekdays, working hours and exceptions (holidays, make-up days).

The exceptions are China's official calendar (filled from the chinesecalendar package) and
the centre's own local entries; where a date has both, the local entry is in force. The
approval chain's time limits read it here, and the dialer reads `calendar_days` for its
calling windows."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class CalendarDay:
    date: date
    name: str
    is_working_day: bool
    source: str  # Holiday.Source


def _in_force(rows: Iterable[tuple]) -> dict[date, CalendarDay]:
    days: dict[date, CalendarDay] = {}
    for day, name, is_working_day, source in rows:
        if source == "local" or day not in days:
            days[day] = CalendarDay(day, name, is_working_day, source)
    return days


def calendar_days(start: date, end: date) -> dict[date, CalendarDay]:
    """The calendar's exceptions from `start` to `end` (both included), by date: a local
    entry wins over the official day of the same date."""
    from approvals.models import Holiday

    return _in_force(
        Holiday.objects.filter(date__gte=start, date__lte=end).values_list(
            "date", "name", "is_working_day", "source"
        )
    )


@dataclass(frozen=True)
class WorkingCalendar:
    working_days: frozenset[int]  # ISO weekdays, 1 = Monday
    day_start: time
    day_end: time
    exceptions: dict[date, bool]  # date -> is a working day

    @classmethod
    def load(cls, around: date) -> "WorkingCalendar":
        days = calendar_days(around - timedelta(days=7), around + timedelta(days=400))
        return cls(
            working_days=frozenset(settings.WORKING_DAYS),
            day_start=settings.WORKING_DAY_START,
            day_end=settings.WORKING_DAY_END,
            exceptions={day: entry.is_working_day for day, entry in days.items()},
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.isoweekday() in self.working_days

    def add_working_hours(self, start: datetime, hours: Decimal | float) -> datetime:
        """The moment `hours` working hours after `start`, in the current time zone."""
        tz = timezone.get_current_timezone()
        moment = timezone.localtime(start, tz)
        remaining = timedelta(hours=float(hours))
        for _ in range(800):
            day = moment.date()
            opens = datetime.combine(day, self.day_start, tzinfo=tz)
            closes = datetime.combine(day, self.day_end, tzinfo=tz)
            if self.is_working_day(day) and moment < closes:
                moment = max(moment, opens)
                available = closes - moment
                if remaining <= available:
                    return moment + remaining
                remaining -= available
            moment = datetime.combine(day + timedelta(days=1), self.day_start, tzinfo=tz)
        raise ValueError("The working calendar has no working day within two years.")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours elapsed from `start` to `end` (zero if end is earlier)."""
        tz = timezone.get_current_timezone()
        start, end = timezone.localtime(start, tz), timezone.localtime(end, tz)
        total = timedelta()
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                opens = datetime.combine(day, self.day_start, tzinfo=tz)
                closes = datetime.combine(day, self.day_end, tzinfo=tz)
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600
