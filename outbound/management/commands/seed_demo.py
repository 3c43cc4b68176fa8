from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from accounts.roles import role_label
from outbound.demo import DEMO_PASSWORD, USERS, demo_load


class Command(BaseCommand):
    help = "Load the demo departments and users (once) and print how to log in."

    def handle(self, *args, **options):
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
