"""Asking the broker: does it answer, and how many messages wait in each of our queues."""

from config.celery import app
from config.queues import celery_queues, queue_names

# A health check or a scrape must not hang on a broker that does not answer.
TIMEOUT_SECONDS = 3


def _connection():
    return app.connection_for_read(connect_timeout=TIMEOUT_SECONDS)


def broker_check() -> None:
    """Raises if the broker cannot be reached."""
    with _connection() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=TIMEOUT_SECONDS)
        conn.default_channel  # noqa: B018  (opens a channel: the transport really answers)


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue of this environment (tasks a worker has taken, and
    those it holds for a countdown, are not counted)."""
    lengths = {}
    with _connection() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=TIMEOUT_SECONDS)
        channel = conn.default_channel
        for name in queue_names(app.conf.task_default_queue):
            try:
                lengths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except conn.channel_errors:
                lengths[name] = 0
                channel = conn.channel()
    return lengths


def queues_declare() -> list[str]:
    """Declares every queue of this environment once, so that workers starting side by side
    never race to create the same queue (kombu's SQLite transport would trip on it)."""
    queues = celery_queues(app.conf.task_default_queue)
    with _connection() as conn:
        conn.ensure_connection(max_retries=3)
        channel = conn.default_channel
        for queue in queues:
            queue.bind(channel).declare()
    return [queue.name for queue in queues]
