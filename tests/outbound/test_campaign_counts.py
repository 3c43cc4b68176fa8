"""A campaign's kept counts (contacts, dialing states, exclusions, outcomes) stay equal to a
recount whatever writes the rows: the ORM, the status recording, bulk updates, deletions,
with compaction in between; the campaign page shows them, and reads its attempts in a
number of queries that does not grow with the campaign."""

import datetime
import email.utils
import random
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outbound.dialer import counts, services
from outbound.models import CallAttempt, CampaignCount, Contact, DialState, Recording
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db

org, telephony_settings = fx.org, fx.telephony_settings
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed")


def recount(campaign) -> dict[tuple[str, str], int]:
    found: Counter = Counter()
    found[(counts.CONTACT, "")] = Contact.objects.filter(campaign=campaign).count()
    states = DialState.objects.filter(campaign=campaign)
    for status in states.values_list("status", flat=True):
        found[(counts.STATE, status)] += 1
    for reason in states.filter(status="excluded").values_list("excluded_reason", flat=True):
        found[(counts.EXCLUDED, reason)] += 1
    for outcome in CallAttempt.objects.filter(campaign=campaign).values_list("outcome", flat=True):
        found[(counts.OUTCOME, outcome)] += 1
    return {key: n for key, n in found.items() if n}


def kept(campaign) -> dict[tuple[str, str], int]:
    numbers = counts.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    return {key: n for key, n in numbers.items() if n}


def _callback(attempt, status: str, sequence: int) -> None:
    services.attempt_record_status(
        attempt_id=attempt.pk,
        params={
            "CallStatus": status,
            "CallSid": attempt.call_sid,
            "SequenceNumber": str(sequence),
            "Timestamp": email.utils.format_datetime(timezone.now(), usegmt=True),
            "CallDuration": "30",
        },
    )


class Steps:
    """Random changes to a campaign, each through the code that makes it in Waihu."""

    def __init__(self, rng: random.Random, campaign, numbering: int):
        self.rng, self.campaign, self.next_phone, self.sids = rng, campaign, numbering, 0

    def add_contacts(self):
        count = self.rng.randint(1, 6)
        Contact.objects.bulk_create(
            Contact(campaign=self.campaign, phone=phone, name="C")
            for phone in phones(count, self.next_phone)
        )
        self.next_phone += count

    def enrol(self):
        services.contacts_enrol(campaign_id=self.campaign.pk)

    def exclude(self):
        pending = list(
            DialState.objects.filter(campaign=self.campaign, status="pending").values_list(
                "pk", flat=True
            )[:3]
        )
        DialState.objects.filter(pk__in=pending).update(
            status="excluded", excluded_reason=self.rng.choice(["do_not_call", "red_list"])
        )

    def call(self):
        contact = (
            Contact.objects.filter(campaign=self.campaign, dial_state__status="pending")
            .order_by("?")
            .first()
        )
        if contact is None:
            return
        self.sids += 1
        attempt = open_attempt(
            self.campaign, contact, sid=f"CA{self.campaign.pk:08d}{self.sids:024d}"
        )
        if self.rng.random() < 0.8:
            _callback(attempt, "ringing", 1)
            _callback(attempt, self.rng.choice(FINAL_STATUSES), 2)

    def requeue(self):
        DialState.objects.filter(campaign=self.campaign, status="finished").update(status="pending")

    def save_one(self):
        state = DialState.objects.filter(campaign=self.campaign).order_by("?").first()
        if state is not None:
            state.status = self.rng.choice(["pending", "finished", "invalid", "reached"])
            state.save()

    def delete_uncalled(self):
        Contact.objects.filter(campaign=self.campaign, call_attempts__isnull=True).filter(
            pk__in=Contact.objects.filter(campaign=self.campaign).order_by("?").values("pk")[:2]
        ).delete()

    def compact(self):
        counts.counts_compact()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_counts_equal_a_recount_after_random_changes(org, telephony_settings, seed):
    rng = random.Random(seed)
    campaigns = [make_campaign(org, phones=phones(4, 100 * n)) for n in range(2)]
    walkers = [Steps(rng, campaign, 5000 + 1000 * n) for n, campaign in enumerate(campaigns)]
    actions = [name for name in vars(Steps) if not name.startswith("_")]
    busiest = 0
    for _step in range(40):
        walker = rng.choice(walkers)
        getattr(walker, rng.choice(actions))()
        for campaign in campaigns:
            assert kept(campaign) == recount(campaign)
        busiest = max(busiest, sum(recount(campaigns[0]).values()))
    # The walk reached counts worth checking (deletions may empty them again by the end).
    assert busiest > 4


def test_compaction_folds_each_key_into_one_row(org, telephony_settings):
    order = make_campaign(org, phones=phones(5))
    services.contacts_enrol(campaign_id=order.pk)
    for n, contact in enumerate(Contact.objects.filter(campaign=order)):
        attempt = open_attempt(order, contact, sid=f"CA{n:032d}")
        _callback(attempt, "completed", 1)
    before = kept(order)
    counts.counts_compact()
    rows = list(CampaignCount.objects.filter(campaign=order).values_list("kind", "item", "n"))
    assert len(rows) == len({(kind, item) for kind, item, _n in rows})
    assert all(n != 0 for _kind, _item, n in rows)
    assert kept(order) == before == recount(order)
    assert before[(counts.OUTCOME, "answered")] == 5 and before[(counts.CONTACT, "")] == 5
    assert counts.counts_compact() == 0


def test_a_rebuild_recounts_what_the_triggers_missed(org, telephony_settings):
    order = make_campaign(org, phones=phones(3))
    services.contacts_enrol(campaign_id=order.pk)
    CampaignCount.objects.all().delete()
    assert kept(order) == {}
    counts.counts_rebuild()
    assert kept(order) == recount(order) == {(counts.CONTACT, ""): 3, (counts.STATE, "pending"): 3}


def _attempts(order, offset: int, count: int) -> None:
    contacts = Contact.objects.bulk_create(
        Contact(campaign=order, phone=phone, name="Extra") for phone in phones(count, 7000 + offset)
    )
    for n, contact in enumerate(contacts):
        attempt = open_attempt(order, contact, sid=f"CA{offset + n:032d}")
        for sequence, status in enumerate(("initiated", "ringing", "completed")):
            _callback(attempt, status, sequence)
        Recording.objects.create(
            attempt=attempt,
            sid=f"RE{offset + n:032d}",
            account_sid="AC" + "5a" * 16,
            call_sid=attempt.call_sid,
            status=Recording.Status.COMPLETED,
            duration=12,
        )


def test_the_campaign_page_costs_the_same_queries_for_two_attempts_or_sixty(
    client, org, telephony_settings
):
    order = make_campaign(org, phones=phones(3))
    client.force_login(org.outbound_admin)
    url = reverse("campaigns:detail", args=[order.pk])
    _attempts(order, 0, 2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    assert page.context["page"].paginator.count == 2
    _attempts(order, 100, 60)
    open_attempt(order, order.contacts.filter(call_attempts__isnull=True).first(), sid="CA9")
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    live = page.context["live"]
    assert len(page.context["rows"]) == 50 and page.context["page"].paginator.count == 63
    assert live["attempts_total"] == 63 and live["attempts_open"] == 1
    assert live["outcomes"]["answered"] == 62 and live["contacts_total"] == 65
    assert live["calls_last_minute"] == 63 and sum(live["per_minute"]) == 63
    assert live["contacts"]["dialing"] == 1 and live["contacts"]["not_queued"] == 2
    # session, user, groups, the campaign with its settings, the kept counts, the open
    # calls, the last minutes' calls, the page of attempts, their events, their
    # recordings, the inbox count, the contact holds (two)
    assert len(few) == len(many) == 13, [q["sql"][:80] for q in many.captured_queries]
    # Nothing counts the campaign's attempts but its open calls.
    assert not [
        q
        for q in many.captured_queries
        if "COUNT" in q["sql"] and "_callattempt" in q["sql"] and "IS NULL" not in q["sql"]
    ]


def test_the_pager_counts_a_filter_the_kept_counts_cannot_answer(client, org, telephony_settings):
    order = make_campaign(org, phones=phones(3))
    client.force_login(org.outbound_admin)
    _attempts(order, 0, 3)
    url = reverse("campaigns:live", args=[order.pk])
    assert client.get(url, {"outcome": "answered"}).json()["attempts_matching"] == 3
    assert client.get(url, {"outcome": "busy"}).json()["attempts_matching"] == 0
    assert client.get(url, {"outcome": "open"}).json()["attempts_matching"] == 0
    assert client.get(url, {"status": "completed"}).json()["attempts_matching"] == 3
    assert client.get(url, {"q": "138000070"}).json()["attempts_matching"] == 3
    assert client.get(url, {"q": "nobody"}).json()["attempts_matching"] == 0


def test_the_last_minutes_chart_reads_only_recent_calls(client, org, telephony_settings):
    order = make_campaign(org, phones=phones(3))
    _attempts(order, 0, 2)
    CallAttempt.objects.filter(pk=CallAttempt.objects.order_by("pk").first().pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    client.force_login(org.outbound_admin)
    live = client.get(reverse("campaigns:live", args=[order.pk])).json()
    assert live["calls_last_minute"] == 1 and sum(live["per_minute"]) == 2
    assert live["per_minute"][-1] == 1 and live["per_minute"][-6] == 1


def test_the_contacts_page_pages_by_the_kept_counts_in_as_many_queries_for_more(
    client, org, telephony_settings
):
    order = make_campaign(org, phones=phones(3))
    client.force_login(org.requester)
    url = reverse("contacts:campaign_contacts", args=[order.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).context["page"].paginator.count == 3
    Contact.objects.bulk_create(
        Contact(campaign=order, phone=phone, name="More") for phone in phones(120, 500)
    )
    services.contacts_enrol(campaign_id=order.pk)
    DialState.objects.filter(contact__phone__in=phones(5, 500)).update(
        status="excluded", excluded_reason="red_list"
    )
    Contact.objects.bulk_create(
        Contact(campaign=order, phone=phone, name="Late") for phone in phones(4, 900)
    )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).context["page"]
    assert page.paginator.count == 127 and page.paginator.num_pages == 3
    assert len(few) == len(many), [q["sql"][:80] for q in many.captured_queries]
    counted = [
        q for q in many.captured_queries if 'COUNT(*) AS "__count" FROM "outbound_' in q["sql"]
    ]
    assert not counted
    by_status = {"": 127, "not_queued": 4, "pending": 118, "excluded": 5, "reached": 0}
    for status, expected in by_status.items():
        counted = client.get(url, {"status": status}).context["page"].paginator.count
        assert counted == expected, status
    assert client.get(url, {"q": "Late"}).context["page"].paginator.count == 4


def test_every_counted_table_keeps_its_triggers_after_the_migrations():
    """A later migration that rebuilds one of the tables on SQLite drops its triggers: it
    must call counts.reinstall_triggers, or the counts would silently stop."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[0] for row in cursor.fetchall()}
    for table in counts.CONTRIBUTIONS:
        for event in ("insert", "update", "delete"):
            assert f"{table}_count_{event}" in names
