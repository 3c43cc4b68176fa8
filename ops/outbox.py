"""Work decided in a transaction reaches the broker even when the broker is down as it
commits: `enqueue` records the task in the transaction (an OutboxMessage) and hands it to
the broker once the transaction commits, failing fast; a broker that does not answer leaves
the row unsent, the user still sees success, and the sweep (beat, every 30 s) hands every
unsent row over, oldest first, once the broker answers again.

A row may reach the broker twice (handed over, then the database gone before it was marked
sent; or redelivered after a worker or the broker was lost), so the tasks sent this way are
safe to run twice: an import or an export claims its queued job, and an e-mail is sent under
`once`, which remembers the message's work as done."""

import datetime
import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ops.models import OutboxMessage

logger = logging.getLogger(__name__)

T = TypeVar("T")

TASK_ID_PREFIX = "outbox-"
# A broker that is down answers at once (connection refused) or within the connection
# timeout (CELERY_BROKER_CONNECTION_TIMEOUT); one quick retry covers a pooled connection the
# broker's restart closed. Never Celery's default of several retries: a request waits on it.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0,
    "interval_max": 0,
}
# The sweep leaves a row this young to the commit that is handing it over right now.
SWEEP_GRACE_SECONDS = 10
SWEEP_BATCH = 500


def enqueue(task, *args, queue: str = "", **kwargs) -> OutboxMessage:
    """Records `task` (a Celery task or its name) with JSON arguments in the current
    transaction, and hands it to the broker once the transaction commits (at once outside
    one). The caller's transaction decides: rolled back, nothing is sent."""
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(task=name, args=list(args), kwargs=kwargs, queue=queue)
    transaction.on_commit(lambda: publish(message.pk), robust=True)
    return message


def publish(message_id: int) -> bool:
    """Hands one unsent row to the broker and marks it sent; False if the broker did not take
    it (the reason is kept on the row) or another process is handing it over."""
    from config.celery import app

    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, sent_at=None)
            .first()
        )
        if message is None:
            return False
        task = app.tasks[message.task]
        options = {"task_id": message.task_id}
        if message.queue:
            options["queue"] = message.queue
        if app.conf.task_always_eager:
            # Tests run tasks inline: the task's own errors are the test's to see.
            OutboxMessage.objects.filter(pk=message.pk).update(
                sent_at=timezone.now(), attempts=F("attempts") + 1
            )
            task.apply_async(message.args, message.kwargs, **options)
            return True
        try:
            task.apply_async(
                message.args,
                message.kwargs,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
                **options,
            )
        except Exception as error:  # the broker's errors are many kinds; any leaves it unsent
            logger.warning(
                "outbox: %s #%s not handed to the broker: %s",
                message.task,
                message.pk,
                type(error).__name__,
            )
            OutboxMessage.objects.filter(pk=message.pk).update(
                attempts=F("attempts") + 1,
                last_error=f"{type(error).__name__}: {error}"[:500],
            )
            return False
        OutboxMessage.objects.filter(pk=message.pk).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    return True


def sweep(*, now: datetime.datetime | None = None) -> int:
    """Hands every unsent row over, oldest first, stopping at the first the broker refuses
    (it is down again: the next sweep goes on). Rows sent long ago are forgotten. Returns
    how many were handed over."""
    now = now or timezone.now()
    unsent = (
        OutboxMessage.objects.filter(
            sent_at=None, created_at__lt=now - datetime.timedelta(seconds=SWEEP_GRACE_SECONDS)
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    sent = 0
    for message_id in list(unsent):
        if publish(message_id):
            sent += 1
        elif OutboxMessage.objects.filter(pk=message_id, sent_at=None).exists():
            break
    keep = datetime.timedelta(days=settings.WAIHU_OUTBOX_KEEP_DAYS)
    OutboxMessage.objects.filter(sent_at__lt=now - keep).filter(
        Q(done_at__isnull=False) | Q(started_at=None)
    ).delete()
    if sent:
        logger.info("outbox: handed %s waiting task(s) to the broker", sent)
    return sent


def unsent_count() -> int:
    return OutboxMessage.objects.filter(sent_at=None).count()


def message_id(task_id: str | None) -> int | None:
    """The outbox row behind a task's id, if it was sent through the outbox."""
    if not task_id or not task_id.startswith(TASK_ID_PREFIX):
        return None
    try:
        return int(task_id.removeprefix(TASK_ID_PREFIX))
    except ValueError:
        return None


class StillRunning(Exception):
    """Another delivery of the same outbox message is doing its work right now."""


def once(task_id: str | None, work: Callable[[], T]) -> T | None:
    """Runs `work` for the outbox message behind `task_id` unless a delivery of it already
    did: None when it was done before. Raises StillRunning while another delivery is at it
    (the task retries later and then finds it done); a delivery that died halfway, its
    claim older than WAIHU_OUTBOX_CLAIM_SECONDS, is taken over. A task not sent through the
    outbox just runs."""
    pk = message_id(task_id)
    if pk is None:
        return work()
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.WAIHU_OUTBOX_CLAIM_SECONDS)
    claimed = (
        OutboxMessage.objects.filter(pk=pk, done_at=None)
        .filter(Q(started_at=None) | Q(started_at__lt=stale))
        .update(started_at=now)
    )
    if not claimed:
        if OutboxMessage.objects.filter(pk=pk, done_at=None).exists():
            raise StillRunning(task_id)
        logger.info("outbox: %s already done, not run again", task_id)
        return None
    try:
        result = work()
    except BaseException:
        OutboxMessage.objects.filter(pk=pk, started_at=now).update(started_at=None)
        raise
    OutboxMessage.objects.filter(pk=pk).update(done_at=timezone.now())
    return result
