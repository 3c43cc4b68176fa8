"""/healthz: the process answers (nothing else is asked). /readyz: the database, the broker,
beat's last dialer tick and the workers of every queue, each named in the answer. Both are
open without login and say nothing secret: a check's failure is named by its kind of error,
never by the address or credentials it used."""

import time

from django.conf import settings
from django.http import JsonResponse


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def _broker() -> str | None:
    from ops.broker import broker_check

    broker_check()
    return None


def _beat() -> str | None:
    from ops.heartbeats import last_tick

    tick = last_tick()
    if tick is None:
        return "no dialer tick seen yet"
    sent = tick.details.get("sent_at") or tick.seen_at.timestamp()
    age = time.time() - sent
    if age > settings.WAIHU_READY_TICK_AGE_SECONDS:
        return f"last dialer tick sent {age:.0f} s ago"
    return None


def _workers() -> str | None:
    from config.celery import app
    from config.queues import queue_names
    from ops.heartbeats import workers_seen

    within = settings.WAIHU_READY_WORKER_AGE_SECONDS
    served = workers_seen(within=within)
    missing = [name for name in queue_names(app.conf.task_default_queue) if not served.get(name)]
    if missing:
        return f"no worker seen in {within:.0f} s for queue {', '.join(missing)}"
    return None


CHECKS = {"database": _database, "broker": _broker, "beat": _beat, "workers": _workers}


def readyz(request) -> JsonResponse:
    checks, failed = {}, []
    for name, check in CHECKS.items():
        if name in ("beat", "workers") and "database" in failed:
            problem = "database unavailable"
        else:
            try:
                problem = check()
            except Exception as error:  # the kind of error only: no address, no secret
                problem = f"unavailable ({type(error).__name__})"
        checks[name] = problem or "ok"
        if problem:
            failed.append(name)
    body = {"status": "failing" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    response = JsonResponse(body, status=503 if failed else 200)
    response["Cache-Control"] = "no-store"
    return response
