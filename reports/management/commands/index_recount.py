import datetime
import re

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.indicators import add_months, monthly_rebuild

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _month(raw: str) -> datetime.date:
    match = _MONTH.match(raw)
    if not match:
        raise CommandError(f"Write a month as 2025-03, not {raw!r}.")
    return datetime.date(int(match[1]), int(match[2]), 1)


class Command(BaseCommand):
    help = (
        "Recounts the monthly kept counts the leaders' page reads, from the interviews: the "
        "months from --from to --to (both included; by default the last 24). Beat recounts "
        "only the current and previous months every hour; run this after installing the "
        "indicator tree, changing which questions count as an indicator, or correcting "
        "older interviews."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first month, such as 2025-01")
        parser.add_argument("--to", dest="end", help="last month, such as 2025-12")

    def handle(self, *args, start=None, end=None, **options):
        this_month = timezone.localdate().replace(day=1)
        last = _month(end) if end else this_month
        first = _month(start) if start else add_months(last, -23)
        if first > last:
            raise CommandError("--from comes after --to.")
        month, total = first, 0
        while month <= last:
            rows = monthly_rebuild(month)
            total += rows
            self.stdout.write(f"{month:%Y-%m}: {rows} kept rows")
            month = add_months(month, 1)
        self.stdout.write(f"Recounted {first:%Y-%m} to {last:%Y-%m}: {total} kept rows.")
