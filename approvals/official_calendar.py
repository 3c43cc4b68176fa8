"""China's official calendar as published by the State Council each year: the public
holidays and the weekend days worked in exchange (调休上班). The data comes with the
chinesecalendar package (installed, so no network is needed); this module is the only
one that imports it. A year appears once a package release carries it: upgrading the
package and running `manage.py calendar_fill` (or waiting for the daily fill) brings it in.
"""

import datetime
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar import constants

# The package's English keys, named as the State Council's notices name them.
_CHINESE_NAMES = {holiday.value: holiday.chinese for holiday in constants.Holiday}
MAKE_UP_SUFFIX = "（调休上班）"


@dataclass(frozen=True)
class OfficialDay:
    date: datetime.date
    name: str
    is_working_day: bool


def package_version() -> str:
    return chinese_calendar.__version__


def known_years() -> range:
    """The years the installed package has the official calendar of."""
    years = [day.year for day in constants.holidays]
    return range(min(years), max(years) + 1)


def _name(key: str) -> str:
    return _CHINESE_NAMES.get(key, key)


def official_days(year: int) -> list[OfficialDay]:
    """The year's days off (every day of each holiday break, weekends in it included) and
    its make-up working days, in date order; empty for a year the package does not know."""
    if year not in known_years():
        return []
    days = [
        OfficialDay(day, _name(key), False)
        for day, key in constants.holidays.items()
        if day.year == year
    ]
    days += [
        OfficialDay(day, _name(key) + MAKE_UP_SUFFIX, True)
        for day, key in constants.workdays.items()
        if day.year == year
    ]
    return sorted(days, key=lambda day: day.date)
