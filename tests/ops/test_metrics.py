"""Metrics for Prometheus at /metrics, behind a bearer token: counts of what happens, kept by
the process it happens in (summed over a host's processes in multiprocess mode), and
gauges of what is, read at scrape time. No phone number in any of it."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

from config.celery import app
from ops import broker, heartbeats
from ops.models import OutboxMessage
from outbound import telephony
from outbound.dialer import tasks
from outbound.models import CallAttempt
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, signed_post, start

carrier, org, telephony_settings = fx.carrier, fx.org, fx.telephony_settings
TOKEN = "t0ken-for-the-scraper-0123456789"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(token: str | None = TOKEN) -> str:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = Client(headers=headers).get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture
def metrics_token(settings):
    settings.WAIHU_METRICS_TOKEN = TOKEN
    return TOKEN


def test_metrics_are_off_until_a_token_is_set(settings):
    settings.WAIHU_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404


@pytest.mark.django_db
def test_metrics_need_the_token(metrics_token):
    assert Client().get("/metrics").status_code == 401
    wrong = Client(headers={"authorization": "Bearer nope-nope-nope-nope"}).get("/metrics")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert "waihu_calls_placed" in scrape()


@pytest.mark.django_db
def test_calls_placed_finished_and_callbacks_are_counted(
    org, carrier, telephony_settings, metrics_token, django_capture_on_commit_callbacks
):
    numbers = ["+8613957312468", "+8613957312479", "+8613957312480"]
    order = start(make_campaign(org, phones=numbers), org)
    placed = value("waihu_calls_placed_total", result="placed")
    invalid = value("waihu_calls_placed_total", result="invalid")
    carrier.refuse[numbers[0]] = telephony.InvalidNumber("not a number", code=21217)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.dial_campaign(order.pk)
    assert value("waihu_calls_placed_total", result="placed") == placed + 2
    assert value("waihu_calls_placed_total", result="invalid") == invalid + 1

    attempt = CallAttempt.objects.filter(campaign=order).exclude(call_sid=None).first()
    path = reverse("telephony:status", args=[attempt.pk])
    params = {"CallSid": attempt.call_sid, "CallStatus": "busy", "AccountSid": "AC" + "5a" * 16}
    busy = value("waihu_calls_finished_total", outcome="busy")
    counted = {
        result: value("waihu_status_callbacks_total", result=result)
        for result in ("accepted", "bad_signature", "bad_parameters", "unknown_attempt")
    }
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, path, params).status_code == 204
        assert signed_post(client, path, params).status_code == 204  # a repeat: not finished again
    assert client.post(path, params).status_code == 403
    assert signed_post(client, path, {**params, "Whatever": "1"}).status_code == 400
    other = reverse("telephony:status", args=[attempt.pk + 1000])
    assert signed_post(client, other, params).status_code == 404
    assert value("waihu_calls_finished_total", outcome="busy") == busy + 1
    assert value("waihu_status_callbacks_total", result="accepted") == counted["accepted"] + 2
    for result in ("bad_signature", "bad_parameters", "unknown_attempt"):
        assert value("waihu_status_callbacks_total", result=result) == counted[result] + 1

    text = scrape()
    assert 'waihu_calls_in_progress{status="queued"} 1.0' in text
    assert 'waihu_calls_in_progress{status="completed"} 0.0' in text
    assert 'waihu_calls_finished_total{outcome="invalid"}' in text
    # No number in full, nor the digits that tell one number from another.
    for number in numbers:
        assert number[-8:] not in text


@pytest.mark.django_db
def test_state_gauges_read_at_scrape_time(metrics_token):
    queue = app.conf.task_default_queue
    heartbeats.beat("worker:calls@h", {"queues": [f"{queue}.calls"]})
    heartbeats.tick_seen(sent_at=1000.0, started_at=1000.25)
    text = scrape()
    assert f'waihu_queue_messages{{queue="{queue}.calls"}}' in text
    assert f'waihu_queue_messages{{queue="{queue}.bulk"}}' in text
    assert f'waihu_workers_seen{{queue="{queue}.calls"}} 1.0' in text
    assert f'waihu_workers_seen{{queue="{queue}.bulk"}} 0.0' in text
    assert "waihu_dialer_last_tick_delay_seconds 0.25" in text
    assert "waihu_dialer_last_tick_age_seconds" in text
    assert "waihu_outbox_waiting 0.0" in text
    assert "waihu_outbox_oldest_age_seconds 0.0" in text
    OutboxMessage.objects.create(task="ops.tasks.outbox_sweep")
    OutboxMessage.objects.create(task="ops.tasks.outbox_sweep", sent_at=timezone.now())
    assert "waihu_outbox_waiting 1.0" in scrape()
    assert 'waihu_scrape_error{part="queues"} 0.0' in text


@pytest.mark.django_db
def test_an_unreadable_part_is_reported_not_fatal(metrics_token, monkeypatch):
    unreachable = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(
        broker, "_connection", lambda: app.connection_for_read(unreachable, connect_timeout=3)
    )
    text = scrape()
    assert 'waihu_scrape_error{part="queues"} 1.0' in text
    assert 'waihu_scrape_error{part="calls"} 0.0' in text


@pytest.mark.django_db
def test_failed_logins_are_counted(org):
    before = value("waihu_login_failures_total")
    Client().post("/login/", {"username": org.requester.username, "password": "wrong"})
    assert value("waihu_login_failures_total") == before + 1


@pytest.mark.django_db
def test_tasks_and_the_dialer_tick_are_timed():
    runs = value("waihu_tasks_total", task=tasks.dial_due.name, state="SUCCESS")
    ticks = value("waihu_dialer_tick_duration_seconds_count")
    tasks.dial_due.apply()
    assert value("waihu_tasks_total", task=tasks.dial_due.name, state="SUCCESS") == runs + 1
    assert value("waihu_dialer_tick_duration_seconds_count") == ticks + 1
    assert value("waihu_task_duration_seconds_count", task=tasks.dial_due.name) >= 1


def test_processes_of_a_host_are_added_up(tmp_path, settings):
    """Multiprocess mode: two processes count into one folder, /metrics adds them up."""
    settings.WAIHU_METRICS_TOKEN = TOKEN
    script = textwrap.dedent(
        """
        from ops import metrics
        metrics.CALLS_PLACED.labels(result="placed").inc(3)
        metrics.CALLBACKS.labels(result="accepted").inc()
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            cwd=django_settings.BASE_DIR,
            check=True,
            timeout=60,
        )
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    try:
        from ops.metrics import registry

        exposed = registry(state=False)
        assert exposed.get_sample_value("waihu_calls_placed_total", {"result": "placed"}) == 6
        assert exposed.get_sample_value("waihu_status_callbacks_total", {"result": "accepted"}) == 2
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
