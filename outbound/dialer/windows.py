"""When a contact may be called: the campaign's dates and weekday hours, read in the
contact's own local time (the zone of their number)."""

import datetime
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from phonenumbers import timezone as number_timezone

from outbound.models import CampaignSettings

_UNKNOWN = "Etc/Unknown"
END_OF_DAY = datetime.time(23, 59)


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
    hours = rules.hours_on(local.isoweekday())
    if hours is None:
        return False
    now = local.time().replace(tzinfo=None)
    # An end of 23:59 means the end of the day.
    return hours[0] <= now and (now < hours[1] or hours[1] == END_OF_DAY)


def next_opening(
    rules: CampaignSettings, moment: datetime.datetime, zone: ZoneInfo
) -> datetime.datetime | None:
    """The first moment at or after `moment` when the window is open in `zone`, or None if
    it never opens again (the date range is over)."""
    local = moment.astimezone(zone)
    for offset in range(0, 370):
        day = local.date() + datetime.timedelta(days=offset)
        if rules.ends_on and day > rules.ends_on:
            return None
        hours = rules.hours_on(day.isoweekday())
        if hours is None or not _day_allowed(rules, day):
            continue
        start = datetime.datetime.combine(day, hours[0], tzinfo=zone)
        end = datetime.datetime.combine(day, hours[1], tzinfo=zone)
        if offset == 0 and local >= end:
            continue
        return max(start, local)
    return None
