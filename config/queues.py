"""Which Celery queue each task goes to.

Tasks are routed by kind to queue groups, each served by workers of its own, so that a
long import or export never holds a slot the dialer needs:

- calls: the dialer's tick and its campaigns, placing calls, settling quiet calls, the agent
  console's and the voice survey's periodic work, the sandbox's play-out;
- bulk: contact imports and their rejected rows, Excel exports;
- mail: e-mails and reminders, the outbox's sweep (and any task not routed: the default queue);
- events: the API's outgoing event deliveries, so a receiver that is down holds up nothing
  else.

Queue names are the environment's queue (WAIHU_CELERY_QUEUE, `celery` by default) with the
group's suffix: `celery.calls`, `celery.bulk`, `celery.mail`, `celery.events`, and `celery`
itself for anything unrouted. The router reads the default queue at the moment a task is sent, so a
process (or a test) that changes it sends every group's tasks to its own queues."""

from fnmatch import fnmatchcase

from django.conf import settings

GROUPS = ("calls", "bulk", "mail", "events")


def queue_name(group: str, prefix: str | None = None) -> str:
    """The queue of a group ("" for the default queue) under `prefix`."""
    prefix = prefix if prefix is not None else settings.CELERY_TASK_DEFAULT_QUEUE
    return f"{prefix}.{group}" if group else prefix


def queue_names(prefix: str | None = None) -> list[str]:
    """Every queue of the environment: the groups' and the default one."""
    return [queue_name(group, prefix) for group in GROUPS] + [queue_name("", prefix)]


def group_of(task_name: str) -> str:
    """The group a task belongs to, from WAIHU_TASK_GROUPS (first pattern that matches);
    "" when none does."""
    for pattern, group in settings.WAIHU_TASK_GROUPS:
        if fnmatchcase(task_name, pattern):
            return group
    return ""


def route(name, args=None, kwargs=None, options=None, task=None, **kw):
    """Celery router (CELERY_TASK_ROUTES): the task's group queue under the default queue
    configured at this moment."""
    from config.celery import app

    return {"queue": queue_name(group_of(name), app.conf.task_default_queue)}


def celery_queues(prefix: str):
    """kombu queues for CELERY_TASK_QUEUES: a worker started without --queues serves them all."""
    from kombu import Exchange, Queue

    return [Queue(name, Exchange(name, "direct"), routing_key=name) for name in queue_names(prefix)]
