"""The claim's order: contacts that share a next-attempt time (a batch enrolled at once) are
claimed in a fixed order, the contact breaking the tie, and on PostgreSQL an index serves
that order (on SQLite too), so the claim reads the first due rows instead of sorting all of them."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbound.dialer import services
from outbound.models import Contact, DialState
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones, start

pytestmark = pytest.mark.django_db

carrier, org, telephony_settings = fx.carrier, fx.org, fx.telephony_settings
WEDNESDAY_10 = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))


def _enrolled(org, count: int):
    order = make_campaign(org, phones=phones(count))
    start(order, org)
    DialState.objects.filter(campaign=order).update(next_attempt_at=WEDNESDAY_10)
    return order


def test_contacts_sharing_a_next_attempt_time_are_claimed_in_contact_order(
    org, carrier, telephony_settings, django_capture_on_commit_callbacks
):
    telephony_settings.WAIHU_DIALER_BATCH_SIZE = 3
    order = _enrolled(org, 7)
    ids = list(Contact.objects.filter(campaign=order).order_by("pk").values_list("pk", flat=True))
    claimed = []
    for _tick in range(3):
        with django_capture_on_commit_callbacks(execute=False):
            services.campaign_dial(campaign_id=order.pk, now=WEDNESDAY_10)
        claimed.append(
            sorted(
                DialState.objects.filter(campaign=order, status="dialing")
                .exclude(contact_id__in=[c for batch in claimed for c in batch])
                .values_list("contact_id", flat=True)
            )
        )
    assert claimed == [ids[:3], ids[3:6], ids[6:]]


def test_the_claim_reads_an_index_in_order_and_sorts_nothing(
    org, carrier, telephony_settings, django_capture_on_commit_callbacks
):
    telephony_settings.WAIHU_DIALER_BATCH_SIZE = 10
    order = _enrolled(org, 1)
    # Many due contacts that share one next-attempt time, as after an enrolment.
    contacts = Contact.objects.bulk_create(
        [Contact(campaign=order, phone=f"+86139{n:08d}") for n in range(5000)]
    )
    DialState.objects.bulk_create(
        [DialState(contact=c, campaign=order, next_attempt_at=WEDNESDAY_10) for c in contacts]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=False),
    ):
        services.campaign_dial(campaign_id=order.pk, now=WEDNESDAY_10)
    claim = next(
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "outbound_dialstate"') and "ORDER BY" in q["sql"]
    )
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {claim}")
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "dial_state_due_order" in plan, plan
    # No sort node (PostgreSQL), no temporary b-tree for the ORDER BY (SQLite).
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
