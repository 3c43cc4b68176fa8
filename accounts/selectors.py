import datetime

from django.apps import apps
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst

from accounts.models import AuditEvent

# The apps whose rows an event may be about.
_TARGET_APPS = ("accounts", "approvals", "surveys", "outbound", "reports")


def audit_target_types() -> list[tuple[str, str]]:
    """(type, label) of every kind of row an event may be about, from the app registry
    rather than the trail, so listing them costs nothing however long the trail grows.
    Internal tables (the sandbox's, a pacing queue) have no translated name and are never
    what a person changes or downloads: they are left out."""
    return sorted(
        (
            (model._meta.label_lower, str(capfirst(model._meta.verbose_name)))
            for model in apps.get_models()
            if model._meta.app_label in _TARGET_APPS
            and model is not AuditEvent
            and isinstance(model._meta.verbose_name, Promise)
        ),
        key=lambda choice: choice[1],
    )


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events(
    *,
    username: str = "",
    action: str = "",
    target_type: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    address: str = "",
) -> QuerySet[AuditEvent]:
    """Events newest first; dates are whole days in the centre's time zone."""
    events = AuditEvent.objects.select_related("user").order_by("-created_at", "-id")
    if username:
        events = events.filter(username=username)
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if date_from:
        events = events.filter(created_at__gte=_day_start(date_from))
    if date_to:
        events = events.filter(created_at__lt=_day_start(date_to + datetime.timedelta(days=1)))
    if address:
        events = events.filter(address=address)
    return events
