from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def official_calendar_after_migrate(sender, *, using="default", apps=None, verbosity=1, **kwargs):
    """Every `migrate` (a fresh machine's first one included) fills the official calendar
    from the installed package, with no network: its data comes with it. A deploy that
    upgraded the package brings the new year in this way too. `flush` fills it again."""
    from django.apps import apps as global_apps

    from approvals.calendar_services import official_days_fill
    from approvals.official_calendar import known_years

    try:
        # `flush` (run between transactional tests too) sends no migration state.
        model = (apps or global_apps).get_model("approvals", "Holiday")
    except LookupError:
        return
    if "source" not in {f.name for f in model._meta.get_fields()}:
        return  # migrated back to before the calendar had sources
    result = official_days_fill(model, years=known_years(), using=using)
    if verbosity >= 1 and (result.added or result.changed or result.removed):
        print(  # the migrate command's own output goes to stdout as well
            f"  Official calendar {result.years[0]}-{result.years[-1]}: "
            f"{result.added} days added, {result.changed} changed, {result.removed} removed."
        )


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        post_migrate.connect(
            official_calendar_after_migrate, sender=self, dispatch_uid="approvals-calendar"
        )
