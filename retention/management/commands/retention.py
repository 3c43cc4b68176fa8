"""Shows what the end of retention would remove now (a dry run, the default), or removes
it with --apply: one line per campaign, counts only, never a number."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from retention import services


class Command(BaseCommand):
    help = (
        "Lists the finished campaigns whose retention period has run out and what would be "
        "removed from them; --apply removes it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--apply", action="store_true", help="Delete the files and anonymise the contacts."
        )
        parser.add_argument(
            "--at", help="Plan as of this moment (ISO 8601, such as 2027-06-01T00:00+08:00)."
        )

    def handle(self, *args, apply=False, at=None, **options):
        now = timezone.now()
        if at:
            now = parse_datetime(at)
            if now is None:
                raise CommandError(f"--at {at!r} is not a moment such as 2027-06-01T00:00+08:00.")
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
            if apply:
                raise CommandError("--at is for the dry run only: --apply removes as of now.")
        planned = services.plan(now)
        if not planned:
            self.stdout.write("No campaign is due for removal.")
            return
        for item in planned:
            self.stdout.write(
                f"{item.number} {item.title!r} ({item.kind}, {item.mode}): ended "
                f"{timezone.localtime(item.ended_at):%Y-%m-%d}, kept {item.days} days; "
                f"{item.contacts} contacts to anonymise, {item.files} uploaded files, "
                f"{item.workbooks} workbooks, {item.recordings} recordings, {item.bytes} bytes"
            )
        if not apply:
            self.stdout.write(f"Dry run: {len(planned)} campaigns; nothing removed (--apply).")
            return
        result = services.purge(planned)
        self.stdout.write(self.style.SUCCESS(f"Purged {len(result.purged)} campaigns."))
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} campaigns could not be purged (the carrier could not "
                "delete their recordings); the next run tries again."
            )
