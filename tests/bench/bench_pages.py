"""List pages at the customer's scale, against the configured database (a throwaway
PostgreSQL schema when DATABASE_URL names it, else a throwaway SQLite file), with
WAIHU_BENCH_ROWS (10,000) of each: work orders (half of them waiting for the outbound
administrator), do-not-call entries, red-list entries and one campaign's contacts.

For the outbound administrator, each page's median time over five requests through
Django's test client and the size of its HTML: order_list, inbox, dnc_list, red_list,
contacts (`<page>_ms`, `<page>_kb`)."""

import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_dialer import Stack, django_setup, say

ROWS = int(os.environ.get("WAIHU_BENCH_ROWS", "10000"))


def _data(rows: int) -> dict:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from approvals.models import ApprovalRequest
    from outbound.models import Contact, DoNotCallEntry, RedListEntry, WorkOrder
    from tests.factories import Org, order_data

    org = Org()
    now = timezone.now()
    today = timezone.localdate()
    data = order_data()
    orders = WorkOrder.objects.bulk_create(
        (
            WorkOrder(
                **{**data, "title": f"外呼工单 {n}"},
                requester=org.requester,
                department=org.marketing,
                run_status=WorkOrder.RunStatus.READY,
            )
            for n in range(rows)
        ),
        batch_size=1000,
    )
    review = org.chain.steps.get(position=2)
    kind = ContentType.objects.get_for_model(WorkOrder)
    ApprovalRequest.objects.bulk_create(
        (
            ApprovalRequest(
                chain=org.chain,
                subject_type=kind,
                subject_id=order.pk,
                title=order.title,
                requester=org.requester,
                department=org.marketing,
                status="in_progress" if n % 2 else "approved",
                current_step=review if n % 2 else None,
                step_started_at=now,
                step_due_at=now + datetime.timedelta(hours=n % 48),
                submitted_at=now,
            )
            for n, order in enumerate(orders)
        ),
        batch_size=1000,
    )
    campaign = orders[0]
    Contact.objects.bulk_create(
        (Contact(campaign=campaign, phone=f"+86138{n:08d}", name=f"客户 {n}") for n in range(rows)),
        batch_size=2000,
    )
    DoNotCallEntry.objects.bulk_create(
        (
            DoNotCallEntry(
                phone=f"+86139{n:08d}", source="upload", campaign=campaign if n % 3 else None
            )
            for n in range(rows)
        ),
        batch_size=2000,
    )
    RedListEntry.objects.bulk_create(
        (
            RedListEntry(
                phone=f"+86137{n:08d}",
                starts_on=today,
                ends_on=today + datetime.timedelta(days=300),
            )
            for n in range(rows)
        ),
        batch_size=2000,
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a load this size
    return {"admin": org.outbound_admin.pk, "campaign": campaign.pk}


def child_measure(rows: str) -> dict:
    django_setup()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    made = _data(int(rows))
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(User.objects.get(pk=made["admin"]))
    pages = {
        "order_list": reverse("outbound:order_list"),
        "inbox": reverse("approvals:inbox"),
        "dnc_list": reverse("contacts:dnc_list"),
        "red_list": reverse("contacts:red_list"),
        "contacts": reverse("contacts:campaign_contacts", args=[made["campaign"]]),
        # A page showing nothing: what every request costs, for comparison.
        "nothing": reverse("outbound:order_list") + "?q=nothing-matches-this",
    }
    results = {}
    for name, url in pages.items():
        response = client.get(url, secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        times = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get(url, secure=True)
            times.append(time.perf_counter() - started)
        results[name] = {
            "ms": statistics.median(times) * 1000,
            "kb": len(response.content) / 1024,
        }
    return results


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="waihu-bench-pages-") as tmp,
        Stack(Path(tmp), "bench_pages") as stack,
    ):
        print(f"# database: {stack.vendor()}; {ROWS:,} rows of each", flush=True)
        results = stack.child("tests.bench.bench_pages", "measure", str(ROWS))
        print(f"# pages: {json.dumps(results)}", flush=True)
        for name, figures in results.items():
            say(f"{name}_ms", figures["ms"], "ms")
            say(f"{name}_kb", figures["kb"], "KB")


if __name__ == "__main__":
    action, *rest = sys.argv[1:]
    print(json.dumps({"measure": child_measure}[action](*rest)))
