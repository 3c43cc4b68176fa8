from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.roles import role_label
from outbound import telephony
from outbound.demo import DEMO_PASSWORD, USERS, demo_load


def is_development() -> bool:
    """Debug on and calls going to the sandbox: the only set-up the demo is for."""
    return settings.DEBUG and telephony.is_sandbox()


class Command(BaseCommand):
    help = "Load the demo departments and users (once) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument(
            "--outside-development",
            action="store_true",
            help="Load the demo even though debug is off or Twilio credentials are set: "
            "it creates users with a known password, a superuser among them, and starts a "
            "campaign.",
        )

    def handle(self, *args, **options):
        if not is_development() and not options["outside_development"]:
            raise CommandError(
                _(
                    "The demo creates users with a published password (a superuser among "
                    "them) and starts a campaign, so it runs only with DJANGO_DEBUG on and no "
                    "Twilio credentials. Pass --outside-development if you really mean it."
                )
            )
        created = demo_load()
        self.stdout.write(
            _("Demo data loaded.")
            if created
            else _("Demo data was already loaded; nothing changed.")
        )
        self.stdout.write(
            _("Open http://127.0.0.1:8000 and log in as one of these (password: %s):")
            % DEMO_PASSWORD
        )
        for spec in USERS:
            roles = ", ".join(role_label(str(r)) for r in spec.roles) or _("system administrator")
            self.stdout.write(
                f"  {spec.username:<16} {DEMO_PASSWORD:<12} {spec.display_name}  ({roles})"
            )
