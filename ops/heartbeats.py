"""Heartbeats: each worker's, from a thread in its main process, and the dialer tick's, as
each tick starts. The readiness check and the metrics read them; any host can, since they
are rows in the shared database."""

import datetime
import logging
import threading

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from ops.models import Heartbeat

logger = logging.getLogger(__name__)

TICK = "dialer-tick"
WORKER_PREFIX = "worker:"
# A worker not heard of for a day is forgotten (a host renamed, a worker removed).
FORGET_AFTER = datetime.timedelta(days=1)


def beat(name: str, details: dict, *, at: datetime.datetime | None = None) -> None:
    """Records that `name` was seen now (one upsert)."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name[:200], seen_at=at or timezone.now(), details=details)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["seen_at", "details"],
    )


def tick_seen(*, sent_at: float | None, started_at: float) -> None:
    """The dialer's tick started at `started_at` (a Unix time); beat sent it at `sent_at`."""
    delay = max(0.0, started_at - sent_at) if sent_at else None
    beat(
        TICK,
        {"sent_at": sent_at, "started_at": started_at, "delay": delay},
        at=datetime.datetime.fromtimestamp(started_at, datetime.UTC),
    )


def last_tick() -> Heartbeat | None:
    return Heartbeat.objects.filter(name=TICK).first()


def workers_seen(*, within: float, now: datetime.datetime | None = None) -> dict[str, list[str]]:
    """Queue -> the workers serving it that were seen in the last `within` seconds."""
    now = now or timezone.now()
    since = now - datetime.timedelta(seconds=within)
    served: dict[str, list[str]] = {}
    rows = Heartbeat.objects.filter(name__startswith=WORKER_PREFIX, seen_at__gte=since)
    for row in rows.order_by("name"):
        for queue in row.details.get("queues", []):
            served.setdefault(queue, []).append(row.name.removeprefix(WORKER_PREFIX))
    return served


def worker_seen(*, hostname: str, queues: list[str]) -> None:
    now = timezone.now()
    beat(f"{WORKER_PREFIX}{hostname}", {"queues": sorted(queues)}, at=now)
    Heartbeat.objects.filter(
        name__startswith=WORKER_PREFIX, seen_at__lt=now - FORGET_AFTER
    ).delete()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker step: every WAIHU_WORKER_HEARTBEAT_SECONDS a thread of the worker's main
    process records the worker and the queues it serves. A thread, not the worker's timer,
    so that a slow database never holds up the worker's own loop; it starts once the pool
    has made its processes."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        self.stopped = threading.Event()
        self.thread = None

    def start(self, worker):
        queues = worker.app.amqp.queues
        served = list(queues.consume_from or queues)
        self.thread = threading.Thread(
            target=self._run, args=(worker.hostname, served), name="waihu-heartbeat", daemon=True
        )
        self.thread.start()

    def stop(self, worker):
        self.stopped.set()

    def _run(self, hostname: str, queues: list[str]) -> None:
        while not self.stopped.is_set():
            try:
                close_old_connections()
                worker_seen(hostname=hostname, queues=queues)
            except Exception:  # the next beat tries again; readiness shows the gap
                logger.warning("worker heartbeat not recorded", exc_info=True)
            finally:
                connection.close()
            self.stopped.wait(settings.WAIHU_WORKER_HEARTBEAT_SECONDS)
