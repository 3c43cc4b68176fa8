"""Checks the Twilio account (or the sandbox) before going live: one line per check,
"PASS|WARN|FAIL <check>: <what to do>"; exits 1 when any check fails."""

from django.core.management.base import BaseCommand, CommandError

from outbound import preflight


class Command(BaseCommand):
    help = "Checks the telephony set-up before going live on a Twilio account."

    def handle(self, *args, **options):
        checks = preflight.run_checks()
        styles = {
            preflight.PASS: self.style.SUCCESS,
            preflight.WARN: self.style.WARNING,
            preflight.FAIL: self.style.ERROR,
        }
        for check in checks:
            line = f"{check.status} {check.name}: {check.detail}"
            self.stdout.write(styles[check.status](line))
        failed = sum(check.status == preflight.FAIL for check in checks)
        if failed:
            raise CommandError(f"{failed} of {len(checks)} checks failed.")
