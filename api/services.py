"""Writes for integrations and subscriptions: tokens issued, rotated and revoked."""

import hashlib
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import EventType, Integration, Scope, Subscription
from outbound.models import WorkOrder

TOKEN_START = "whk_"  # noqa: S105 (a marker, not a secret)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def integration_issue_token(*, integration: Integration) -> str:
    """A new token for `integration`, replacing (rotating) any it had; the token is returned
    once and only its hash is kept."""
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    Integration.objects.filter(pk=integration.pk).update(
        token_prefix=prefix,
        token_hash=_digest(token),
        token_issued_at=timezone.now(),
        revoked_at=None,
    )
    integration.refresh_from_db()
    return token


def integration_revoke(*, integration: Integration) -> bool:
    changed = Integration.objects.filter(pk=integration.pk, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    integration.refresh_from_db()
    return bool(changed)


def integration_for_token(token: str) -> Integration | None:
    """The active integration that holds `token`, or None."""
    if not token.startswith(TOKEN_START):
        return None
    prefix, _sep, _rest = token[len(TOKEN_START) :].partition("_")
    digest = _digest(token)
    for integration in Integration.objects.filter(token_prefix=prefix, revoked_at=None):
        if integration.token_hash and hmac.compare_digest(integration.token_hash, digest):
            return integration
    return None


def validate_scopes(scopes: list[str]) -> None:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError({"scopes": _("Unknown scope: %(s)s") % {"s": ", ".join(unknown)}})


# --- reach ---------------------------------------------------------------------------


def campaigns_within_reach(*, integration: Integration) -> QuerySet[WorkOrder]:
    """The work orders of the integration's departments, and the campaigns named for it."""
    return WorkOrder.objects.filter(
        Q(department__in=integration.departments.all()) | Q(pk__in=integration.campaigns.all())
    ).distinct()


def can_touch(*, integration: Integration, order: WorkOrder) -> bool:
    return (
        integration.departments.filter(pk=order.department_id).exists()
        or integration.campaigns.filter(pk=order.pk).exists()
    )


# --- subscriptions ---------------------------------------------------------------------


def validate_events(events: list[str]) -> None:
    if not events:
        raise ValidationError({"events": _("Choose at least one event.")})
    unknown = sorted(set(events) - set(EventType.values))
    if unknown:
        raise ValidationError({"events": _("Unknown event: %(e)s") % {"e": ", ".join(unknown)}})


def subscription_create(
    *, name: str, url: str, events: list[str], integration: Integration | None = None
) -> Subscription:
    validate_events(events)
    subscription = Subscription(
        name=name,
        url=url,
        events=sorted(set(events)),
        secret=secrets.token_hex(32),
        integration=integration,
    )
    subscription.full_clean()
    with transaction.atomic():
        subscription.save()
    return subscription
