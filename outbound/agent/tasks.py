"""The agent console's periodic work: holds abandoned by their agents lapse."""

from celery import shared_task

from outbound.agent import services
from outbound.dialer.retrying import DatabaseRetryTask


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def expire_holds() -> int:
    return services.reservations_expire()
