"""Tasks are routed to queues by kind, under the environment's queue."""

from django.conf import settings

from config.celery import app
from config.queues import group_of, queue_name, queue_names, route

GROUPS = {
    "outbound.dialer.tasks.dial_due": "calls",
    "outbound.dialer.tasks.dial_campaign": "calls",
    "outbound.dialer.tasks.place_calls": "calls",
    "outbound.dialer.tasks.settle_stale": "calls",
    "outbound.agent.tasks.expire_holds": "calls",
    "outbound.voice.tasks.settle_interviews": "calls",
    "outbound.sandbox.tasks.sandbox_dial": "calls",
    "outbound.contacts.import_run": "bulk",
    "outbound.contacts.import_rejects": "bulk",
    "reports.tasks.export_build_task": "bulk",
    "approvals.tasks.send_request_email": "mail",
    "approvals.tasks.remind_overdue_steps": "mail",
    "ops.tasks.outbox_sweep": "mail",
}


Q = settings.CELERY_TASK_DEFAULT_QUEUE


def _our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_each_kind_of_task_has_its_group():
    for name, group in GROUPS.items():
        assert group_of(name) == group, name
        assert route(name) == {"queue": f"{Q}.{group}"}


def test_every_task_of_ours_is_routed_explicitly():
    """A new task must be given a group: unrouted, it would land on the default queue."""
    tasks = _our_tasks()
    assert set(GROUPS) <= set(tasks)
    assert [name for name in tasks if not group_of(name)] == []


def test_an_unrouted_task_goes_to_the_default_queue():
    assert route("somewhere.else.task") == {"queue": Q}


def test_the_router_follows_the_default_queue_of_the_moment():
    """A test (or a second environment on the broker) that gives its workers a queue of its
    own gets every group under it."""
    default = app.conf.task_default_queue
    app.conf.task_default_queue = "test-abc"
    try:
        assert route("outbound.dialer.tasks.dial_due") == {"queue": "test-abc.calls"}
        assert route("reports.tasks.export_build_task") == {"queue": "test-abc.bulk"}
        assert app.amqp.router.route({}, "outbound.contacts.import_run")["queue"].name == (
            "test-abc.bulk"
        )
    finally:
        app.conf.task_default_queue = default


def test_a_worker_without_queues_serves_them_all():
    assert [q.name for q in app.conf.task_queues] == queue_names(Q)
    assert queue_names("x") == ["x.calls", "x.bulk", "x.mail", "x.events", "x"]
    assert queue_name("", "x") == "x"


def test_beat_sends_the_dialer_tick_to_the_calls_queue():
    entry = app.conf.beat_schedule["dialer-tick"]
    assert route(entry["task"])["queue"] == f"{Q}.calls"
    assert route(app.conf.beat_schedule["approvals-remind-overdue"]["task"])["queue"] == (
        f"{Q}.mail"
    )
