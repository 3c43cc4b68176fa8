from django.core.management.base import BaseCommand, CommandError

from approvals import official_calendar
from approvals.calendar_services import calendar_official_fill, calendar_warnings


class Command(BaseCommand):
    help = (
        "Fills the working calendar with China's public holidays and make-up working days "
        "for every year the installed chinesecalendar package knows (or the years given). "
        "Local entries made in the admin are kept and stay in force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, action="append", help="only this year")

    def handle(self, *args, year=None, **options):
        known = official_calendar.known_years()
        unknown = sorted(set(year or ()) - set(known))
        if unknown:
            raise CommandError(
                f"chinesecalendar {official_calendar.package_version()} knows "
                f"{known[0]}-{known[-1]}, not {', '.join(map(str, unknown))}: install a "
                "release that has it."
            )
        result = calendar_official_fill(years=year)
        self.stdout.write(
            f"Official calendar from chinesecalendar {official_calendar.package_version()}, "
            f"years {result.years[0]}-{result.years[-1]}: {result.added} days added, "
            f"{result.changed} changed, {result.removed} removed."
        )
        for warning in calendar_warnings():
            self.stderr.write(self.style.WARNING(warning))
