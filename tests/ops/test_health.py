"""/healthz answers without the database; /readyz checks the database, the broker, beat's
last dialer tick and the workers of every queue, and names what failed."""

import datetime
import json
import time

import pytest
from django.test import Client
from django.utils import timezone

from config.celery import app
from config.queues import queue_names
from ops import broker, heartbeats
from ops.models import Heartbeat


def test_healthz_answers_without_the_database():
    """No database mark: any query here would raise."""
    client = Client(HTTP_HOST="10.0.0.7")  # a load balancer asks by address
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.head("/healthz/").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_healthz_with_a_session_cookie_still_skips_the_database():
    response = Client(HTTP_COOKIE="sessionid=abc123").get("/healthz")
    assert response.status_code == 200


def test_static_files_are_served_without_the_database():
    response = Client().get("/static/bootstrap/css/bootstrap.min.css")
    assert response.status_code == 200


def _all_well(now=None):
    now = now or timezone.now()
    for name in queue_names(app.conf.task_default_queue):
        heartbeats.beat(f"worker:w-{name}@host", {"queues": [name]}, at=now)
    heartbeats.tick_seen(sent_at=time.time() - 1, started_at=time.time())


@pytest.mark.django_db
def test_readyz_is_ok_when_everything_answers():
    _all_well()
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "beat": "ok", "workers": "ok"},
    }


@pytest.mark.django_db
def test_readyz_names_a_missing_tick_and_a_queue_nobody_serves():
    default = app.conf.task_default_queue
    heartbeats.beat("worker:calls@h", {"queues": [f"{default}.calls"]})
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["beat", "workers"]
    assert body["checks"]["beat"] == "no dialer tick seen yet"
    assert body["checks"]["workers"].endswith(
        f"queue {default}.bulk, {default}.mail, {default}.events, {default}"
    )
    assert body["checks"]["database"] == body["checks"]["broker"] == "ok"


@pytest.mark.django_db
def test_readyz_fails_on_a_stale_tick_and_silent_workers(settings):
    settings.WAIHU_READY_TICK_AGE_SECONDS = 60
    settings.WAIHU_READY_WORKER_AGE_SECONDS = 50
    _all_well(now=timezone.now() - datetime.timedelta(seconds=51))
    heartbeats.tick_seen(sent_at=time.time() - 61, started_at=time.time() - 60)
    body = Client().get("/readyz").json()
    assert body["failed"] == ["beat", "workers"]
    assert body["checks"]["beat"].startswith("last dialer tick sent 6")
    heartbeats.tick_seen(sent_at=time.time() - 5, started_at=time.time() - 4)
    _all_well()
    assert Client().get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_names_the_broker_without_its_address(monkeypatch):
    _all_well()
    unreachable = "redis://:s3cret-pass@127.0.0.1:1/0"
    monkeypatch.setattr(
        broker, "_connection", lambda: app.connection_for_read(unreachable, connect_timeout=3)
    )
    started = time.monotonic()
    response = Client().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"].startswith("unavailable (")
    assert "s3cret" not in response.content.decode() and "127.0.0.1" not in json.dumps(body)
    assert elapsed < 30


@pytest.mark.django_db
def test_readyz_names_the_database(monkeypatch):
    from django.db import OperationalError

    from ops import health

    def down():
        raise OperationalError("could not connect to server at db.internal, password=x")

    monkeypatch.setitem(health.CHECKS, "database", down)
    body = Client().get("/readyz").json()
    assert body["failed"] == ["database", "beat", "workers"]
    assert body["checks"]["database"] == "unavailable (OperationalError)"
    assert body["checks"]["beat"] == "database unavailable"


@pytest.mark.django_db
def test_a_worker_heartbeat_records_its_queues_and_old_ones_are_forgotten():
    long_ago = timezone.now() - datetime.timedelta(days=2)
    heartbeats.beat("worker:gone@old", {"queues": ["x"]}, at=long_ago)
    heartbeats.worker_seen(hostname="calls@h1", queues=["q.calls"])
    heartbeats.worker_seen(hostname="calls@h2", queues=["q.calls"])
    heartbeats.worker_seen(hostname="bulk@h1", queues=["q.bulk", "q"])
    assert heartbeats.workers_seen(within=60) == {
        "q.calls": ["calls@h1", "calls@h2"],
        "q.bulk": ["bulk@h1"],
        "q": ["bulk@h1"],
    }
    assert not Heartbeat.objects.filter(name="worker:gone@old").exists()
    later = timezone.now() + datetime.timedelta(seconds=61)
    assert heartbeats.workers_seen(within=60, now=later) == {}
