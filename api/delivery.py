"""Sends one delivery: the only place that talks to the receivers."""

import logging
from collections import defaultdict

import requests
from django.db.models import F
from django.utils import timezone

from api.events import GIVE_UP_AFTER, SIGNATURE_HEADER, SWEEP_AFTER, event_body, retry_delay, sign
from api.models import Delivery

logger = logging.getLogger(__name__)

# A receiver that is down costs a worker a few seconds at most.
TIMEOUT = (3.05, 5)
_session = requests.Session()


def delivery_send(*, delivery_id: int) -> bool:
    """Posts the event; True when the receiver took it (2xx). A failure is tried again
    later with a growing wait, for a day after the event."""
    return delivery_send_many(delivery_ids=[delivery_id]) == 1


def delivery_send_many(*, delivery_ids: list[int]) -> int:
    """Posts each waiting delivery of `delivery_ids` (one query loads them, one update
    records those taken); returns how many the receivers took."""
    deliveries = list(
        Delivery.objects.select_related("event", "subscription__integration")
        .filter(pk__in=delivery_ids, status=Delivery.Status.PENDING)
        .order_by("pk")
    )
    taken: dict[int, list[int]] = defaultdict(list)
    for delivery in deliveries:
        code = _post(delivery)
        if code is not None:
            taken[code].append(delivery.pk)
    now = timezone.now()
    for code, pks in taken.items():
        Delivery.objects.filter(pk__in=pks, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.DELIVERED,
            attempts=F("attempts") + 1,
            response_code=code,
            error="",
            last_attempt_at=now,
            delivered_at=now,
            next_attempt_at=None,
        )
    return sum(len(pks) for pks in taken.values())


def _post(delivery: Delivery) -> int | None:
    """Sends one delivery: the receiver's 2xx code, or None once the failure is recorded
    with the delivery's next try."""
    event, subscription = delivery.event, delivery.subscription
    body = event_body(event, subscription)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Waihu-Events/1",
        "Waihu-Event-Id": str(event.event_id),
        "Waihu-Event-Type": event.type,
        SIGNATURE_HEADER: sign(subscription.secret, body),
    }
    code, error = None, ""
    try:
        response = _session.post(
            subscription.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
        code = response.status_code
        response.close()
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:255]
    if code is not None and 200 <= code < 300:
        return code
    now = timezone.now()
    attempts = delivery.attempts + 1
    next_at = now + retry_delay(attempts)
    gives_up = next_at > delivery.created_at + GIVE_UP_AFTER
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED if gives_up else Delivery.Status.PENDING,
        attempts=attempts,
        response_code=code,
        error=error or f"HTTP {code}",
        last_attempt_at=now,
        next_attempt_at=None if gives_up else next_at,
    )
    logger.info("Delivery %s to %s failed: %s", delivery.pk, subscription.url, error or code)
    return None


def delivery_send_again(*, delivery: Delivery) -> None:
    """The 'send again' button: the delivery is waiting again and goes out now."""
    from django.db import transaction

    from api.tasks import deliver

    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now() + SWEEP_AFTER
    )
    transaction.on_commit(lambda: deliver.delay(delivery.pk))


def deliveries_due(*, now=None, limit: int = 1000) -> list[int]:
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
