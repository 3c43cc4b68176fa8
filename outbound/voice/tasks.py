"""The voice survey's periodic work: interviews whose calls ended halfway become partial."""

from celery import shared_task

from outbound.dialer.retrying import DatabaseRetryTask
from outbound.voice import services


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def settle_interviews() -> int:
    return services.voice_interviews_settle()
