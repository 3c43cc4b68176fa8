from celery import shared_task

from approvals import calendar_services, notifications, services
from ops.outbox import StillRunning, once


@shared_task(
    bind=True,
    autoretry_for=(OSError, StillRunning),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def send_request_email(self, *, kind: str, request_id: int, step_id: int | None = None) -> int:
    """Sent through the outbox: a second delivery of the same message (handed over twice,
    or redelivered after a worker or the broker was lost) sends nothing."""
    sent = once(
        self.request.id,
        lambda: notifications.request_email_send(kind=kind, request_id=request_id, step_id=step_id),
    )
    return sent or 0


@shared_task
def remind_overdue_steps() -> int:
    return services.overdue_steps_remind()


@shared_task
def fill_official_calendar() -> int:
    """Daily: a package upgrade's new year, or a corrected one, is in the calendar by the
    next morning even without a deploy's migrate."""
    result = calendar_services.calendar_official_fill()
    return result.added + result.changed + result.removed


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def warn_missing_calendar() -> int:
    return calendar_services.calendar_missing_warn()
