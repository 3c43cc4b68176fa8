"""The agent console's periodic work: holds abandoned by their agents lapse, and contacts
added to running agent campaigns join their queues."""

from celery import shared_task

from outbound.agent import services
from outbound.dialer.retrying import DatabaseRetryTask


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def expire_holds() -> int:
    lapsed = services.reservations_expire()
    services.agent_campaigns_enrol()
    return lapsed
