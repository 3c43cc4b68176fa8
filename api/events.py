"""Outgoing events: recorded with a delivery for each subscription that wants them, sent
by Celery after the commit, signed with HMAC-SHA256 over the timestamp and the body."""

import datetime
import hashlib
import hmac
import json
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from api.models import Delivery, Event, Subscription
from api.services import can_touch
from outbound.privacy import phone_for_integration

SIGNATURE_HEADER = "Waihu-Signature"
# Receivers should refuse a signature older than this (a replayed delivery).
SIGNATURE_TOLERANCE_SECONDS = 300
FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 2 * 3600
GIVE_UP_AFTER = datetime.timedelta(days=1)
SWEEP_AFTER = datetime.timedelta(minutes=2)


def event_publish(*, type: str, data, campaign=None) -> Event | None:
    """Records the event and queues a delivery to each active subscription that wants it
    (one made by an integration only for campaigns the integration may touch). `data` may
    be a function, called only when somebody listens."""
    subscriptions = [
        s
        for s in Subscription.objects.filter(active=True).select_related("integration")
        if type in s.events
        and (
            s.integration is None
            or (campaign is not None and can_touch(integration=s.integration, order=campaign))
        )
    ]
    if not subscriptions:
        return None
    if callable(data):
        data = data()
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    now = timezone.now()
    # The task queued on commit sends it; the sweep only picks up one whose message was lost.
    sweep_at = now + SWEEP_AFTER
    with transaction.atomic():
        event = Event.objects.create(type=type, campaign=campaign, data=data, occurred_at=now)
        deliveries = Delivery.objects.bulk_create(
            [
                Delivery(subscription=s, event=event, created_at=now, next_attempt_at=sweep_at)
                for s in subscriptions
            ]
        )
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: _queue(ids))
    return event


def _queue(ids: list[int]) -> None:
    from api.tasks import queue

    queue(ids)


def _phones_masked(value, integration):
    """The event's data with every contact's "phone" as the integration may read it."""
    if isinstance(value, dict):
        return {
            key: phone_for_integration(integration, item)
            if key == "phone" and isinstance(item, str)
            else _phones_masked(item, integration)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_phones_masked(item, integration) for item in value]
    return value


def event_body(event: Event, subscription=None) -> bytes:
    """The event as a receiver gets it. A subscription an integration made gets numbers
    whole only if the integration has the phones scope; one the system administrator made
    (hearing about every campaign) gets them whole."""
    data = event.data
    if subscription is not None and subscription.integration_id is not None:
        data = _phones_masked(data, subscription.integration)
    return json.dumps(
        {
            "id": str(event.event_id),
            "type": event.type,
            "occurred_at": event.occurred_at,
            "data": data,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """What a receiver does (the README has the same as a snippet)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


def retry_delay(attempts: int) -> datetime.timedelta:
    """30 s after the first failure, doubling, at most two hours apart."""
    seconds = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS)
    return datetime.timedelta(seconds=seconds)
