"""When a contact may be called: the campaign's dates and weekday hours, read in the
contact's own local time (the zone of their number), and the centre's calendar.

The calendar (China's public holidays and make-up working days, and the centre's own
entries: approvals' `calendar_days`) is the centre's, not the contact's. A moment's kind of
day is that of its date in the centre's time zone (settings.TIME_ZONE), while the hours are
read on the contact's clock. For a number in China the two dates are the same; for a number
abroad the centre's holiday still has no calls, because the rule is the centre's: its room
is closed, and its days off are those of China's calendar. On a day off no call is placed
unless the campaign calls on holidays (its own setting, or else its kind's:
WAIHU_HOLIDAY_CALLING_KINDS). A make-up working day on a weekend is called as an ordinary
working day: with the hours of the first working weekday (WAIHU_WORKING_DAYS) that has any.
The campaign's own first and last day and excluded dates are read in the contact's time."""

import datetime
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from phonenumbers import timezone as number_timezone

from approvals.calendar import CalendarDay, calendar_days
from approvals.models import Holiday
from outbound.models import CampaignSettings

_UNKNOWN = "Etc/Unknown"
END_OF_DAY = datetime.time(23, 59)
# How far ahead the calendar is read at once, and looked through for an opening.
CALENDAR_SPAN_DAYS = 400
SEARCH_DAYS = 370
_MEMO = "_calling_calendar"


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@functools.lru_cache(maxsize=65536)
def zone_for_number(phone: str) -> ZoneInfo:
    """The number's time zone; the default zone when the number has none or several."""
    try:
        zones = number_timezone.time_zones_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        zones = ()
    if len(zones) == 1 and zones[0] != _UNKNOWN:
        try:
            return _zone(zones[0])
        except ZoneInfoNotFoundError:
            pass
    return _zone(settings.WAIHU_DEFAULT_TIME_ZONE)


def _centre_zone() -> ZoneInfo:
    return _zone(settings.TIME_ZONE)


def calendar_day(rules: CampaignSettings, day: datetime.date) -> CalendarDay | None:
    """The calendar's entry for the centre's date `day`, or None for an ordinary day. The
    calendar is read once per settings object as loaded (the dialer loads it afresh for
    each batch), for a year ahead."""
    memo = getattr(rules, _MEMO, None)
    if memo is None or not memo[0] <= day <= memo[1]:
        first = day - datetime.timedelta(days=7)
        last = day + datetime.timedelta(days=CALENDAR_SPAN_DAYS)
        memo = (first, last, calendar_days(first, last))
        setattr(rules, _MEMO, memo)
    return memo[2].get(day)


def calls_on_holidays(rules: CampaignSettings) -> bool:
    """Whether the campaign calls on public holidays and days off: its own setting, or else
    whether its kind is among WAIHU_HOLIDAY_CALLING_KINDS."""
    if rules.calls_on_holidays is not None:
        return rules.calls_on_holidays
    kind = rules.campaign.kind if rules.campaign_id else None
    return kind in settings.WAIHU_HOLIDAY_CALLING_KINDS


def _working_day_hours(rules: CampaignSettings) -> tuple[datetime.time, datetime.time] | None:
    for weekday in sorted(settings.WORKING_DAYS):
        hours = rules.hours_on(weekday)
        if hours is not None:
            return hours
    return None


def hours_for(
    rules: CampaignSettings, weekday: int, centre_day: datetime.date
) -> tuple[datetime.time, datetime.time] | None:
    """The calling hours on the contact's `weekday` while the centre's date is
    `centre_day`, or None for no calls."""
    entry = calendar_day(rules, centre_day)
    if entry is None:
        return rules.hours_on(weekday)
    if not entry.is_working_day:
        return rules.hours_on(weekday) if calls_on_holidays(rules) else None
    if centre_day.isoweekday() in settings.WORKING_DAYS:
        return rules.hours_on(weekday)  # a working day on a working weekday: as usual
    return _working_day_hours(rules)


def _day_allowed(rules: CampaignSettings, day: datetime.date) -> bool:
    if rules.starts_on and day < rules.starts_on:
        return False
    if rules.ends_on and day > rules.ends_on:
        return False
    return day.isoformat() not in set(rules.excluded_dates or ())


def is_open(rules: CampaignSettings, moment: datetime.datetime, zone: ZoneInfo) -> bool:
    """Whether a call may start at `moment` for someone living in `zone`."""
    local = moment.astimezone(zone)
    if not _day_allowed(rules, local.date()):
        return False
    hours = hours_for(rules, local.isoweekday(), moment.astimezone(_centre_zone()).date())
    if hours is None:
        return False
    now = local.time().replace(tzinfo=None)
    # An end of 23:59 means the end of the day.
    return hours[0] <= now and (now < hours[1] or hours[1] == END_OF_DAY)


def _midnight_after(moment: datetime.datetime, zone: ZoneInfo) -> datetime.datetime:
    day = moment.astimezone(zone).date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)


def next_opening(
    rules: CampaignSettings, moment: datetime.datetime, zone: ZoneInfo
) -> datetime.datetime | None:
    """The first moment at or after `moment` when the window is open in `zone`, or None if
    it never opens again (the date range is over, or nothing opens within a year).

    Time is walked in stretches over which both the contact's date and the centre's date
    stay the same (each ends at the next midnight of either), so the hours that apply are
    fixed within each stretch."""
    centre = _centre_zone()
    at = moment.astimezone(zone)
    give_up = at + datetime.timedelta(days=SEARCH_DAYS)
    while at < give_up:
        day = at.date()
        if rules.ends_on and day > rules.ends_on:
            return None
        stretch_end = min(_midnight_after(at, zone), _midnight_after(at, centre))
        hours = (
            hours_for(rules, day.isoweekday(), at.astimezone(centre).date())
            if _day_allowed(rules, day)
            else None
        )
        if hours is not None:
            opens = datetime.datetime.combine(day, hours[0], tzinfo=zone)
            if hours[1] == END_OF_DAY:
                closes = _midnight_after(at, zone)
            else:
                closes = datetime.datetime.combine(day, hours[1], tzinfo=zone)
            start, end = max(opens, at), min(closes, stretch_end)
            if start < end:
                return start.astimezone(zone)
        at = stretch_end.astimezone(zone)
    return None


def is_calling_day(rules: CampaignSettings, day: datetime.date) -> bool:
    """Whether the campaign calls at all on the centre's date `day` (for a contact in the
    centre's own time zone)."""
    return _day_allowed(rules, day) and hours_for(rules, day.isoweekday(), day) is not None


def calling_days_after(
    rules: CampaignSettings, day: datetime.date, *, count: int
) -> list[datetime.date]:
    """The first `count` calling days after `day`, fewer if the campaign ends (or nothing
    opens within a year) before."""
    found = []
    for offset in range(1, SEARCH_DAYS + 1):
        candidate = day + datetime.timedelta(days=offset)
        if len(found) >= count or (rules.ends_on and candidate > rules.ends_on):
            break
        if is_calling_day(rules, candidate):
            found.append(candidate)
    return found


@dataclass(frozen=True)
class SpecialDay:
    """A coming day that the calendar or the campaign's own dates set apart."""

    date: datetime.date
    name: str
    local: bool  # the centre's own entry rather than the official calendar's
    calls: bool
    why: str


def special_days(
    rules: CampaignSettings, first: datetime.date, last: datetime.date
) -> list[SpecialDay]:
    """The days from `first` to `last` (inside the campaign's dates) that differ from an
    ordinary week: the calendar's days off (without calls, or with them for a campaign
    that calls on holidays), make-up working days, and the campaign's excluded dates."""
    if rules.starts_on:
        first = max(first, rules.starts_on)
    if rules.ends_on:
        last = min(last, rules.ends_on)
    excluded = set(rules.excluded_dates or ())
    holidays = calls_on_holidays(rules)
    days = []
    day = first
    while day <= last:
        entry = calendar_day(rules, day)
        if day.isoformat() in excluded:
            why = _("excluded in these settings")
        elif entry is not None and not entry.is_working_day:
            why = (
                _("day off; this campaign calls on holidays")
                if holidays
                else _("day off: no calls")
            )
        elif entry is not None and day.isoweekday() not in settings.WORKING_DAYS:
            why = _("make-up working day: called with working-day hours")
        else:
            why = None
        if why is not None:
            days.append(
                SpecialDay(
                    date=day,
                    name=entry.name if entry else "",
                    local=bool(entry and entry.source == Holiday.Source.LOCAL),
                    calls=is_calling_day(rules, day),
                    why=why,
                )
            )
        day += datetime.timedelta(days=1)
    return days
