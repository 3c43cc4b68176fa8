"""Status-callback benchmark: gunicorn serving Waihu on 127.0.0.1 over the configured
database (a throwaway PostgreSQL schema or SQLite file):

- webhook_callbacks_per_s: signed status callbacks (initiated, ringing, in-progress,
  completed for each of 1,000 calls) handled per second;
- webhook_vs_bare_view: that rate over the rate of a bare Django view (one that does
  nothing) on the same server with the same clients.

WAIHU_BENCH_CALLS changes the number of calls."""

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tests.bench.bench_dialer import SERVER_WORKERS, Stack, django_setup, make_campaign, say

CALLS = int(os.environ.get("WAIHU_BENCH_CALLS", "1000"))
CLIENTS = int(os.environ.get("WAIHU_BENCH_CLIENTS", "8"))
STATUSES = ("initiated", "ringing", "in-progress", "completed")


def _setup(calls: int) -> dict:
    """A campaign with `calls` attempts handed to the carrier, waiting for callbacks."""
    from django.utils import timezone

    from outbound import telephony
    from outbound.models import CallAttempt, DialState

    campaign = make_campaign(calls)
    states = DialState.objects.filter(campaign_id=campaign).values_list("pk", "contact__phone")
    DialState.objects.filter(campaign_id=campaign).update(status="dialing", attempts=1)
    now = timezone.now()
    attempts = CallAttempt.objects.bulk_create(
        [
            CallAttempt(
                campaign_id=campaign,
                contact_id=pk,
                number=1,
                to=phone,
                caller_id="+8673110086",
                call_sid=f"CA{pk:032d}",
                status="queued",
                status_rank=1,
                placed_at=now,
            )
            for pk, phone in states
        ],
        batch_size=500,
    )
    return {"attempts": [a.pk for a in attempts], "token": telephony.auth_token()}


def _post_callbacks(base: str, token: str, attempts: list[int]) -> int:
    import requests
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(token)
    session = requests.Session()
    sent = 0
    for sequence, status in enumerate(STATUSES):
        for pk in attempts:
            url = f"{base}/telephony/attempts/{pk}/status/"
            params = {
                "CallSid": f"CA{pk:032d}",
                "CallStatus": status,
                "SequenceNumber": str(sequence),
                "CallDuration": "30",
            }
            signature = validator.compute_signature(url, params)
            response = session.post(url, data=params, headers={"X-Twilio-Signature": signature})
            if response.status_code != 204:
                raise RuntimeError(f"{url}: {response.status_code}")
            sent += 1
    return sent


def _get_bare(base: str, count: int) -> int:
    import requests

    session = requests.Session()
    for _ in range(count):
        if session.get(f"{base}/telephony/health/").status_code != 204:
            raise RuntimeError("the bare view failed")
    return count


def _rate(function, jobs: list[tuple]) -> float:
    with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
        started = time.perf_counter()
        done = sum(pool.map(function, *zip(*jobs, strict=True)))
        return done / (time.perf_counter() - started)


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="waihu-bench-webhook-") as tmp,
        Stack(Path(tmp), "bench_webhook") as stack,
    ):
        print(f"# database: {stack.vendor()}; {CALLS:,} calls, {CLIENTS} clients", flush=True)
        data = stack.child("tests.bench.bench_webhook", "setup", str(CALLS))
        stack.serve(workers=SERVER_WORKERS)
        attempts = data["attempts"]
        slices = [attempts[n::CLIENTS] for n in range(CLIENTS)]
        _rate(_get_bare, [(stack.base, 50)] * CLIENTS)  # warm every server worker up
        callbacks = _rate(_post_callbacks, [(stack.base, data["token"], s) for s in slices])
        per_client = len(attempts) * len(STATUSES) // CLIENTS
        bare = _rate(_get_bare, [(stack.base, per_client)] * CLIENTS)
        print(f"# bare view: {bare:.0f}/s", flush=True)
        say("webhook_callbacks_per_s", callbacks, "callbacks/s")
        say("webhook_vs_bare_view", callbacks / bare, "ratio")


if __name__ == "__main__":
    django_setup()
    action, *args = sys.argv[1:]
    if action != "setup":
        raise SystemExit(f"unknown action {action}")
    print(json.dumps(_setup(int(args[0]))))
