"""What ops listens to: Celery's task signals (each task's wait in its queue, duration and
log line; the dialer tick's heartbeat), Celery's logging set-up (phone numbers masked in
its handlers too), failed logins, and new database connections (the web timeouts)."""

import contextlib
import logging
import time

from celery import signals as celery_signals
from django.contrib.auth.signals import user_login_failed
from django.db.backends.signals import connection_created

from ops import database, logs, metrics

logger = logging.getLogger("waihu.task")

SENT_AT = "waihu_sent_at"
TICK_TASK = "outbound.dialer.tasks.dial_due"


def stamp_sent(sender=None, headers=None, **kwargs):
    """before_task_publish: when the message was sent, so a worker can tell how long the task
    waited in its queue."""
    if headers is not None and SENT_AT not in headers:
        headers[SENT_AT] = time.time()


def _wait(task) -> float | None:
    """Seconds between when the task could first run (sent, or its countdown's end) and now."""
    request = task.request
    sent = getattr(request, SENT_AT, None)
    if request.is_eager or not sent:
        return None
    ready = float(sent)
    if request.eta:
        from datetime import datetime

        with contextlib.suppress(ValueError):
            ready = max(ready, datetime.fromisoformat(str(request.eta)).timestamp())
    return max(0.0, time.time() - ready)


def task_started(sender=None, task_id=None, task=None, **kwargs):
    now = time.time()
    wait = _wait(task)
    task.request.waihu_timing = (time.perf_counter(), wait)
    queue = (task.request.delivery_info or {}).get("routing_key") or ""
    if wait is not None:
        metrics.TASK_WAIT.labels(queue=queue).observe(wait)
    if task.name == TICK_TASK:
        if wait is not None:
            metrics.TICK_DELAY.observe(wait)
        if not task.request.is_eager:
            from ops.heartbeats import tick_seen

            sent = getattr(task.request, SENT_AT, None)
            try:
                tick_seen(sent_at=float(sent) if sent else None, started_at=now)
            except Exception:
                logger.warning("dialer tick heartbeat not recorded", exc_info=True)


def task_finished(sender=None, task_id=None, task=None, args=None, kwargs=None, state=None, **kw):
    began, wait = getattr(task.request, "waihu_timing", None) or (None, None)
    duration = time.perf_counter() - began if began is not None else None
    name = task.name
    metrics.task_finished(name, state or "", duration)
    request = task.request
    queue = (request.delivery_info or {}).get("routing_key") or ""
    logger.info(
        "task %s %s in %s ms",
        name,
        state,
        round(duration * 1000) if duration is not None else "?",
        extra={
            "task": name,
            "task_id": task_id,
            "queue": queue,
            "state": state,
            "duration_ms": round(duration * 1000, 1) if duration is not None else None,
            "wait_ms": round(wait * 1000, 1) if wait is not None else None,
            "retries": request.retries,
            "task_args": logs.brief(args, kwargs),
        },
    )


def login_failed(sender=None, credentials=None, request=None, **kwargs):
    metrics.LOGIN_FAILURES.inc()


def logging_set_up(logger=None, **kwargs):
    """Celery's own handlers (a worker that takes over the root logger) mask numbers too."""
    for handler in getattr(logger, "handlers", []):
        if not any(isinstance(f, logs.PhoneMaskFilter) for f in handler.filters):
            handler.addFilter(logs.PhoneMaskFilter())


def connect() -> None:
    celery_signals.before_task_publish.connect(stamp_sent, weak=False)
    celery_signals.task_prerun.connect(task_started, weak=False)
    celery_signals.task_postrun.connect(task_finished, weak=False)
    celery_signals.after_setup_logger.connect(logging_set_up, weak=False)
    celery_signals.after_setup_task_logger.connect(logging_set_up, weak=False)
    user_login_failed.connect(login_failed, dispatch_uid="ops.login_failed")
    connection_created.connect(database.web_timeouts, dispatch_uid="ops.web_timeouts")
