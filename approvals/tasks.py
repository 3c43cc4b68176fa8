from celery import shared_task

from approvals import notifications, services


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_request_email(*, kind: str, request_id: int, step_id: int | None = None) -> int:
    return notifications.request_email_send(kind=kind, request_id=request_id, step_id=step_id)


@shared_task
def remind_overdue_steps() -> int:
    return services.overdue_steps_remind()
