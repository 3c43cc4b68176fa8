"""The audit trail's way in: audit_record, called wherever a user downloads personal data or
changes who may reach it (the Personal Information Protection Law asks us to account for
both). Every app may record, since accounts is the ground floor.

The request being served is kept at hand (AuditRequestMiddleware), so a service or a signal
receiver that is not given it still records the address it came from, and a receiver the
user who made the change."""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from accounts.client import client_address
from accounts.models import AuditAction, AuditEvent
from accounts.privacy import mask_numbers_in_text

__all__ = [
    "AuditAction",
    "audit_changes",
    "audit_record",
    "current_request",
    "current_user",
    "form_changes",
    "form_values",
    "request_bound",
]

_request: ContextVar = ContextVar("waihu_audit_request", default=None)


@contextmanager
def request_bound(request):
    """While the block runs, `request` is the one being served."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_request():
    return _request.get()


def current_user():
    """The signed-in user of the request being served, or None (a command, a task)."""
    user = getattr(_request.get(), "user", None)
    return user if user is not None and user.is_authenticated else None


class _Encoder(DjangoJSONEncoder):
    """Dates, times and decimals as Django writes them; rows as their id and name; anything
    else as its text."""

    def default(self, o):
        if isinstance(o, models.Model):
            return {"id": o.pk, "name": str(o)}
        if isinstance(o, set | frozenset):
            return sorted(o, key=str)
        if isinstance(o, models.QuerySet):
            return [self.default(item) for item in o]
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _masked(value):
    if isinstance(value, str):
        return mask_numbers_in_text(value)
    if isinstance(value, dict):
        return {str(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def plain(value) -> Any:
    """`value` as JSON data with every phone number in its texts masked."""
    return _masked(json.loads(json.dumps(value, cls=_Encoder)))


def audit_record(
    *,
    user,
    action: AuditAction | str,
    target: models.Model | None = None,
    description: str = "",
    details: dict | None = None,
    request=None,
) -> AuditEvent:
    """Append one event: `user` (None for the system) did `action` to `target`. The
    description defaults to the target's name; the address is the request's (given, or
    the one being served). Phone numbers in the description and details are masked."""
    action = AuditAction(action)
    if user is not None and not user.is_authenticated:
        user = None
    request = request if request is not None else _request.get()
    target_type = target_id = ""
    if target is not None:
        target_type, target_id = target._meta.label_lower, str(target.pk or "")
        description = description or str(target)
    return AuditEvent.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        description=mask_numbers_in_text(str(description))[:255],
        details=plain(details or {}),
        address=client_address(request)[:64] if request is not None else "",
    )


def audit_changes(instance: models.Model, data: dict) -> dict:
    """{field: [old, new]} for each value in `data` that differs from the instance's; call
    it before the values are set."""
    return {
        name: [getattr(instance, name, None), value]
        for name, value in data.items()
        if getattr(instance, name, None) != value
    }


def form_changes(form) -> dict:
    """{field: [old, new]} for the fields a bound model form changed (rows by their id)."""
    changes = {}
    for name in form.changed_data:
        field = form.fields[name]
        old = field.prepare_value(form.get_initial_for_field(field, name))
        changes[name] = [old, field.prepare_value(form.cleaned_data.get(name))]
    return changes


def form_values(form, *, skip: tuple[str, ...] = ()) -> dict:
    """The values a model form saved (rows by their id)."""
    return {
        name: field.prepare_value(form.cleaned_data.get(name))
        for name, field in form.fields.items()
        if name in form.cleaned_data and name not in ("id", "DELETE", *skip)
    }
