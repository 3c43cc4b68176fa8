from celery import shared_task


@shared_task(ignore_result=True)
def outbox_sweep() -> int:
    """Beat, every 30 s: tasks recorded while the broker was down reach it once it is back
    (beat's own message for this task cannot be sent before then either)."""
    from ops.outbox import sweep

    return sweep()
