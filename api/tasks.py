from celery import shared_task

from api import delivery


@shared_task(ignore_result=True, acks_late=True)
def deliver(delivery_id: int) -> None:
    delivery.delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def retry_due() -> int:
    """Queues the deliveries whose wait is over (and any whose message was lost)."""
    ids = delivery.deliveries_due()
    for pk in ids:
        deliver.delay(pk)
    return len(ids)
