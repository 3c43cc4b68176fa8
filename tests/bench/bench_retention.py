"""The end of retention at the customer's scale, against the configured database (a
throwaway PostgreSQL schema when DATABASE_URL names it, else a throwaway SQLite file): one
stopped campaign of WAIHU_BENCH_RETENTION_ROWS (100,000) contacts, each with a call, past
its period, purged as the daily task purges it; then the do-not-call entry of one
anonymised contact looked up through the hash against a list of as many numbers.

Figures: `retention_contacts_per_s` (the purge, batches of WAIHU_RETENTION_BATCH_SIZE),
`retention_dnc_lookup_ms` (one anonymised contact against the whole list)."""

import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_dialer import Stack, django_setup, say

ROWS = int(os.environ.get("WAIHU_BENCH_RETENTION_ROWS", "100000"))


def child_measure(rows: str) -> dict:
    django_setup()
    from django.db import connection
    from django.utils import timezone

    from outbound import retention as outbound_retention
    from outbound.models import CallAttempt, CampaignSettings, Contact, DoNotCallEntry, WorkOrder
    from retention import services
    from tests.factories import Org, make_order

    rows = int(rows)
    org = Org()
    order = make_order(org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    contacts = Contact.objects.bulk_create(
        (
            Contact(campaign=order, phone=f"+86138{n:08d}", name=f"客户 {n}", attributes={"n": n})
            for n in range(rows)
        ),
        batch_size=2000,
    )
    CallAttempt.objects.bulk_create(
        (
            CallAttempt(
                campaign=order,
                contact=contact,
                number=1,
                to=contact.phone,
                caller_id="+8673110086",
                status="completed",
                outcome="answered",
                finished_at=timezone.now(),
            )
            for contact in contacts
        ),
        batch_size=2000,
    )
    DoNotCallEntry.objects.bulk_create(
        (DoNotCallEntry(phone=f"+86139{n:08d}", source="upload") for n in range(rows - 1)),
        batch_size=2000,
    )
    DoNotCallEntry.objects.create(phone=contacts[-1].phone, source="call")
    CampaignSettings.objects.update_or_create(
        campaign=order,
        defaults={
            "state": CampaignSettings.State.STOPPED,
            "state_changed_at": timezone.now() - datetime.timedelta(days=400),
        },
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    started = time.perf_counter()
    result = services.purge(services.plan())
    seconds = time.perf_counter() - started
    if result.purged != [order.pk]:
        raise RuntimeError(f"not purged: {result}")
    last = Contact.objects.get(pk=contacts[-1].pk)
    started = time.perf_counter()
    entry = outbound_retention.do_not_call_entry(last)
    lookup = time.perf_counter() - started
    if entry is None or entry.source != "call":
        raise RuntimeError("the anonymised contact did not match its do-not-call entry")
    return {"rows": rows, "seconds": seconds, "lookup_ms": lookup * 1000}


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="waihu-bench-retention-") as tmp,
        Stack(Path(tmp), "bench_retention") as stack,
    ):
        print(f"# database: {stack.vendor()}; {ROWS:,} contacts", flush=True)
        result = stack.child("tests.bench.bench_retention", "measure", str(ROWS))
        print(f"# retention: {json.dumps(result)}", flush=True)
        say("retention_contacts_per_s", result["rows"] / result["seconds"], "contacts/s")
        say("retention_dnc_lookup_ms", result["lookup_ms"], "ms")


if __name__ == "__main__":
    action, *rest = sys.argv[1:]
    print(json.dumps({"measure": child_measure}[action](*rest)))
