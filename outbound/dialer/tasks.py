"""The dialer's Celery tasks: thin wrappers that take ids and call the services."""

from celery import shared_task
from django.conf import settings

from ops import metrics
from outbound.dialer import services
from outbound.dialer.retrying import DatabaseRetryTask

RETRY_DELAYS = (2, 5, 15, 30, 60)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def dial_due() -> int:
    """Beat's tick: one claiming task per running campaign."""
    ids = services.running_campaign_ids()
    for campaign_id in ids:
        dial_campaign.apply_async((campaign_id,), expires=settings.WAIHU_DIALER_TICK_SECONDS * 5)
    return len(ids)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def dial_campaign(campaign_id: int) -> int:
    services.contacts_enrol(campaign_id=campaign_id)
    return len(services.campaign_dial(campaign_id=campaign_id))


# Not tried again on a dropped database connection: the carrier may have accepted calls
# whose SIDs were not stored, and settling finds those (or closes the attempts as not
# placed), where a second try would place them twice.
@shared_task(ignore_result=True)
def place_calls(attempt_ids: list[int], tries: int = 0) -> None:
    result = services.calls_place(attempt_ids=attempt_ids, tries=tries)
    metrics.calls_placed(result)
    if result["retry"]:
        delay = RETRY_DELAYS[min(tries, len(RETRY_DELAYS) - 1)]
        place_calls.apply_async((result["retry"], tries + 1), countdown=delay)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def settle_stale() -> dict:
    return services.attempts_settle()


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def cancel_calls(campaign_id: int, statuses: list[str]) -> dict:
    return services.calls_cancel(campaign_id=campaign_id, statuses=statuses)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def account_refused(campaign_id: int) -> None:
    """The account refused a call and the campaign paused: the calls Twilio still holds in
    its queue would be refused too, or ring while nobody watches; they are canceled, and
    the outbound administrators are told."""
    services.calls_cancel(campaign_id=campaign_id, statuses=services.PAUSE_CANCELS)
    send_account_refusal_email.delay(campaign_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_account_refusal_email(campaign_id: int) -> int:
    from outbound.dialer import notifications

    return notifications.account_refusal_email_send(campaign_id=campaign_id)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def compact_counts() -> int:
    from outbound.dialer import counts

    return counts.counts_compact()
