from celery import shared_task

from api import delivery

# Deliveries sent by one task: a backlog (a receiver back after a while) goes out in few
# messages and few queries, while one task still ends in seconds.
BATCH = 20


@shared_task(ignore_result=True, acks_late=True)
def deliver(delivery_id: int) -> None:
    delivery.delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True, acks_late=True)
def deliver_many(delivery_ids: list[int]) -> None:
    delivery.delivery_send_many(delivery_ids=delivery_ids)


def queue(ids: list[int]) -> None:
    """Queues the deliveries, BATCH to a task."""
    for first in range(0, len(ids), BATCH):
        chunk = ids[first : first + BATCH]
        if len(chunk) == 1:
            deliver.delay(chunk[0])
        else:
            deliver_many.delay(chunk)


@shared_task(ignore_result=True)
def retry_due() -> int:
    """Queues the deliveries whose wait is over (and any whose message was lost)."""
    ids = delivery.deliveries_due()
    queue(ids)
    return len(ids)
