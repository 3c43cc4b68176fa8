"""The reminder runs in a real Celery worker process, through the configured broker
(kombu's SQLite transport by default, Redis when CELERY_BROKER_URL names it)."""

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.tasks import remind_overdue_steps
from config.celery import app
from outbound.services import order_submit
from tests.factories import Org, make_order

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(settings.BASE_DIR)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A worker process on a queue of its own, so nothing else left on the broker (by an
    earlier run or a development server) stands in its way."""
    queue = f"test-{uuid.uuid4().hex}"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_URL": f"file://{outbox}",
        "WAIHU_CELERY_QUEUE": queue,
    }
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        # A file, not a pipe: a pipe nobody reads fills up and stalls the worker.
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield outbox, queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    print(log_path.read_text(errors="replace")[-3000:])


def test_beat_schedules_the_reminder():
    entry = app.conf.beat_schedule["approvals-remind-overdue"]
    assert entry["task"] == remind_overdue_steps.name


def test_real_worker_sends_the_overdue_reminder(worker):
    outbox, queue = worker
    org = Org()
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    ApprovalRequest.objects.update(step_due_at=timezone.now() - datetime.timedelta(minutes=5))
    app.conf.task_always_eager = False
    try:
        remind_overdue_steps.apply_async(queue=queue)
    finally:
        app.conf.task_always_eager = True
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (
            list(outbox.iterdir())
            and ApprovalRequest.objects.filter(overdue_notified_at__isnull=False).exists()
        ):
            break
        time.sleep(0.5)
    assert ApprovalRequest.objects.get().overdue_notified_at is not None
    sent = "".join(path.read_text() for path in outbox.iterdir())
    assert "leader@example.com" in sent and order.title in sent
