"""Metrics for Prometheus, served at /metrics to a scraper that brings WAIHU_METRICS_TOKEN.

Two kinds, kept apart on purpose:

- What happens (calls placed, calls finished by outcome, status callbacks by result, failed
  logins, task durations and waits, the dialer tick's delay, import and export durations,
  django-prometheus' request figures) is counted by the process it happens in, with
  prometheus_client. gunicorn and Celery run several processes, so every process of a host
  writes its counts under PROMETHEUS_MULTIPROC_DIR (one directory per host, shared by the
  web server and the workers) and /metrics adds them up. A count lives where it happened:
  computing it from the database at scrape time would mean counting tables that grow
  without end on every scrape. A host that runs workers but no web server serves its own
  directory with `manage.py serve_metrics`.
- What is (calls in progress, messages waiting in each queue, the dialer's last tick,
  workers seen) is read from the database and the broker at scrape time, so any web
  server gives the same true figure whatever process or host the work runs in; each
  query is bounded (open calls only, a handful of queues and heartbeats).

No label holds a phone number, a user name or a secret: labels are task names, queue names,
outcomes and statuses."""

import functools
import hmac
import logging
import os

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

_LONG = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
_SHORT = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

CALLS_PLACED = Counter(
    "waihu_calls_placed",
    "Calls the dialer handed to the carrier, by result: placed, invalid or failed (the "
    "carrier refused), retry (to try again), dropped (the campaign stopped meanwhile).",
    ["result"],
)
CALLS_FINISHED = Counter(
    "waihu_calls_finished", "Call attempts given their final disposition, by outcome.", ["outcome"]
)
CALLBACKS = Counter(
    "waihu_status_callbacks",
    "Status callbacks received, by result: accepted, unknown_attempt, bad_signature, "
    "bad_parameters, refused (any other answer).",
    ["result"],
)
LOGIN_FAILURES = Counter("waihu_login_failures", "Failed logins (wrong password or locked out).")
TICK_DELAY = Histogram(
    "waihu_dialer_tick_delay_seconds",
    "How late each dialer tick started after beat sent it.",
    buckets=_SHORT,
)
TICK_DURATION = Histogram(
    "waihu_dialer_tick_duration_seconds", "How long each dialer tick ran.", buckets=_SHORT
)
IMPORT_DURATION = Histogram(
    "waihu_contact_import_duration_seconds", "How long each contact list import ran.", buckets=_LONG
)
EXPORT_DURATION = Histogram(
    "waihu_export_duration_seconds", "How long each Excel export took to build.", buckets=_LONG
)
TASK_DURATION = Histogram(
    "waihu_task_duration_seconds",
    "How long each Celery task ran.",
    ["task"],
    buckets=(*_SHORT[:-1], 600, 1800, 3600),
)
TASK_WAIT = Histogram(
    "waihu_task_wait_seconds",
    "How long tasks waited in their queue (after any countdown) before a worker took them.",
    ["queue"],
    buckets=_SHORT,
)
TASKS = Counter("waihu_tasks", "Celery tasks run, by task and final state.", ["task", "state"])

_NAMED_DURATIONS = {
    "outbound.dialer.tasks.dial_due": TICK_DURATION,
    "outbound.contacts.import_run": IMPORT_DURATION,
    "reports.tasks.export_build_task": EXPORT_DURATION,
}
_PLACE_RESULTS = ("placed", "invalid", "failed", "retry", "dropped")
_CALLBACK_RESULTS = {
    204: "accepted",
    404: "unknown_attempt",
    403: "bad_signature",
    400: "bad_parameters",
}


def task_finished(name: str, state: str, duration: float | None) -> None:
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if duration is None:
        return
    TASK_DURATION.labels(task=name).observe(duration)
    named = _NAMED_DURATIONS.get(name)
    if named is not None and state == "SUCCESS":
        named.observe(duration)


def calls_placed(result: dict) -> None:
    """After the dialer handed a batch to the carrier (calls_place's result)."""
    for key in _PLACE_RESULTS:
        if result.get(key):
            CALLS_PLACED.labels(result=key).inc(len(result[key]))


def call_finished(outcome: str) -> None:
    """Once a transaction that gave an attempt its final outcome commits."""
    from django.db import transaction

    transaction.on_commit(lambda: CALLS_FINISHED.labels(outcome=outcome or "unknown").inc())


def count_callbacks(view):
    """Counts a status-callback view's answers by result (signature refusals included)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        CALLBACKS.labels(result=_CALLBACK_RESULTS.get(response.status_code, "refused")).inc()
        return response

    return wrapper


# --- what is, read at scrape time ---------------------------------------------------------


class StateCollector:
    """Gauges read from the database and the broker when Prometheus asks."""

    def collect(self):
        errors = GaugeMetricFamily(
            "waihu_scrape_error",
            "1 when a part of the state could not be read at this scrape.",
            labels=["part"],
        )
        for part, read in (
            ("calls", self._calls),
            ("queues", self._queues),
            ("heartbeats", self._heartbeats),
            ("outbox", self._outbox),
        ):
            try:
                yield from read()
                errors.add_metric([part], 0)
            except Exception:
                logger.warning("metrics: %s could not be read", part, exc_info=True)
                errors.add_metric([part], 1)
        yield errors

    def _calls(self):
        from django.db.models import Count

        from outbound.models import CallAttempt

        gauge = GaugeMetricFamily(
            "waihu_calls_in_progress",
            "Call attempts without a final status, by their last status.",
            labels=["status"],
        )
        counts = dict(
            CallAttempt.objects.filter(finished_at=None)
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        for status in CallAttempt.Status.values:
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge

    def _queues(self):
        from ops.broker import queue_lengths

        gauge = GaugeMetricFamily(
            "waihu_queue_messages", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        for name, length in queue_lengths().items():
            gauge.add_metric([name], length)
        yield gauge

    def _outbox(self):
        from django.db.models import Count, Min
        from django.utils import timezone

        from ops.models import OutboxMessage

        waiting = OutboxMessage.objects.filter(sent_at=None).aggregate(
            n=Count("pk"), oldest=Min("created_at")
        )
        count = GaugeMetricFamily(
            "waihu_outbox_waiting",
            "Tasks recorded by the web that the broker has not taken yet (it was down).",
        )
        count.add_metric([], waiting["n"])
        age = GaugeMetricFamily(
            "waihu_outbox_oldest_age_seconds",
            "How long the oldest task not yet taken by the broker has waited (0: none).",
        )
        oldest = waiting["oldest"]
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0)
        yield count
        yield age

    def _heartbeats(self):
        import time

        from config.celery import app
        from config.queues import queue_names
        from ops import heartbeats

        tick = heartbeats.last_tick()
        age = GaugeMetricFamily(
            "waihu_dialer_last_tick_age_seconds",
            "Seconds since the dialer's last tick started (absent before the first).",
        )
        delay = GaugeMetricFamily(
            "waihu_dialer_last_tick_delay_seconds",
            "How late the dialer's last tick started after beat sent it.",
        )
        if tick is not None:
            age.add_metric([], max(0.0, time.time() - tick.seen_at.timestamp()))
            if tick.details.get("delay") is not None:
                delay.add_metric([], tick.details["delay"])
        yield age
        yield delay
        served = heartbeats.workers_seen(within=settings.WAIHU_READY_WORKER_AGE_SECONDS)
        workers = GaugeMetricFamily(
            "waihu_workers_seen",
            "Workers seen recently (WAIHU_READY_WORKER_AGE_SECONDS) serving each queue.",
            labels=["queue"],
        )
        for name in queue_names(app.conf.task_default_queue):
            workers.add_metric([name], len(served.get(name, [])))
        yield workers


class _Forward:
    """This process's own metrics, when there is no multiprocess directory."""

    def collect(self):
        return REGISTRY.collect()


def registry(*, state: bool = True) -> CollectorRegistry:
    """The metrics to expose: every process's counts on this host (multiprocess mode) or this
    process's own, with the state read now."""
    exposed = CollectorRegistry(auto_describe=False)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(exposed, path=folder)
    else:
        exposed.register(_Forward())
    if state:
        exposed.register(StateCollector())
    return exposed


def token_is_valid(request) -> bool:
    token = settings.WAIHU_METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_response(request, *, state: bool = True) -> HttpResponse:
    """/metrics: 404 while no token is set (metrics are off), 401 without the right one.
    `state`: with the gauges read from the database and the broker (web servers)."""
    if not settings.WAIHU_METRICS_TOKEN:
        return HttpResponse(status=404)
    if not token_is_valid(request):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry(state=state)), content_type=CONTENT_TYPE_LATEST)
