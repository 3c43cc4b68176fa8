"""Filling the working calendar from China's official calendar, and telling the system
administrator when a year is missing. Official days are only ever written here; the
administrator's local entries are never touched."""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from approvals import official_calendar
from approvals.models import Holiday

OFFICIAL = Holiday.Source.OFFICIAL.value


@dataclass
class FillResult:
    years: list[int] = field(default_factory=list)
    added: int = 0
    changed: int = 0
    removed: int = 0


def official_days_fill(model, *, years, using: str = "default") -> FillResult:
    """Brings the official rows of `years` in line with the package: adds the days it
    lists, corrects a name or kind it changed, removes a day it dropped (the State Council
    has amended a year's calendar after publishing it). `model` is the Holiday model, or
    its historical version when called after a migration. Years the package does not know
    are left as they are."""
    result = FillResult()
    rows = model.objects.using(using)
    with transaction.atomic(using=using):
        for year in years:
            wanted = {day.date: day for day in official_calendar.official_days(year)}
            if not wanted:
                continue
            result.years.append(year)
            have = {
                row.date: row
                for row in rows.filter(
                    source=OFFICIAL,
                    date__gte=datetime.date(year, 1, 1),
                    date__lte=datetime.date(year, 12, 31),
                )
            }
            new = [
                model(
                    date=day, name=entry.name, is_working_day=entry.is_working_day, source=OFFICIAL
                )
                for day, entry in wanted.items()
                if day not in have
            ]
            # Two fills at once (beat and a deploy's migrate) add the same days: one wins.
            rows.bulk_create(new, ignore_conflicts=True)
            result.added += len(new)
            gone = [row.pk for day, row in have.items() if day not in wanted]
            if gone:
                rows.filter(pk__in=gone).delete()
                result.removed += len(gone)
            for day, row in have.items():
                entry = wanted.get(day)
                if entry and (row.name, row.is_working_day) != (entry.name, entry.is_working_day):
                    rows.filter(pk=row.pk).update(
                        name=entry.name, is_working_day=entry.is_working_day
                    )
                    result.changed += 1
    return result


def calendar_official_fill(*, years=None) -> FillResult:
    """Fills the calendar with the official days of `years` (every year the installed
    package knows by default)."""
    return official_days_fill(
        Holiday, years=official_calendar.known_years() if years is None else years
    )


def official_year_missing(year: int) -> bool:
    return not Holiday.objects.official().filter(date__year=year).exists()


def calendar_warnings(*, today: datetime.date | None = None) -> list[str]:
    """What the system administrator should know about the calendar today: the current
    year missing at any time, next year missing in December."""
    today = today or timezone.localdate()
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    return [_missing_message(year) for year in years if official_year_missing(year)]


def _missing_message(year: int) -> str:
    return _(
        "The official calendar for %(year)s is not in Waihu: its public holidays and make-up "
        "working days are unknown, so working hours and calling windows treat every weekday "
        "as a working day. Install a chinesecalendar release that has %(year)s (the installed "
        "one, %(version)s, knows up to %(last)s) and run “manage.py calendar_fill”; until "
        "then the days can be entered in the admin by hand."
    ) % {
        "year": year,
        "version": official_calendar.package_version(),
        "last": official_calendar.known_years()[-1],
    }


def calendar_missing_warn(*, today: datetime.date | None = None) -> int:
    """In December, e-mails the system administrators (active superusers with an address)
    when next year's official calendar is still missing. Returns the e-mails sent."""
    today = today or timezone.localdate()
    year = today.year + 1
    if today.month != 12:
        return 0
    calendar_official_fill(years=[year])
    if not official_year_missing(year):
        return 0
    admins = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    messages = []
    for user in admins.order_by("pk"):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _("Waihu: the official calendar for %(year)s is missing") % {"year": year}
            body = "\n\n".join(
                [
                    _("Hello %(name)s,") % {"name": user},
                    _missing_message(year),
                    _(
                        "The calendar page in the admin lists each year's days with their "
                        "source. This reminder comes every Monday of December until the "
                        "year is there."
                    ),
                ]
            )
        messages.append(EmailMessage(subject, body, None, [user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)
