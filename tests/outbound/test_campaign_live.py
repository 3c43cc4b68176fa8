"""The campaign page's live JSON carries the page of attempts with the counters: the same
filters and page as the page, each attempt's events in the carrier's order with their
statuses in the user's words, and a key that changes when anything shown does."""

import datetime
import email.utils

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outbound.dialer import services
from outbound.models import CallAttempt, CallEvent, Contact, Recording
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db

org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture
def order(org, telephony_settings):
    return make_campaign(org, phones=phones(3))


def _live(client, order, **params):
    return client.get(reverse("campaigns:live", args=[order.pk]), params).json()


def _stamp(moment: datetime.datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def _callback(attempt, status: str, sequence: int, moment: datetime.datetime) -> None:
    services.attempt_record_status(
        attempt_id=attempt.pk,
        params={
            "CallStatus": status,
            "CallSid": attempt.call_sid,
            "SequenceNumber": str(sequence),
            "Timestamp": _stamp(moment),
            "CallDuration": "30",
        },
    )


def test_events_follow_the_carriers_sequence_not_their_arrival(client, org, order):
    attempt = open_attempt(order)
    CallEvent.objects.create(
        attempt=attempt, status="queued", occurred_at=timezone.now(), source="dialer"
    )
    start = timezone.now().replace(microsecond=0)
    # The callbacks arrive out of order, and the carrier's timestamps (whole seconds) are
    # no help: ringing and in-progress say the same second as the one before them.
    _callback(attempt, "ringing", 1, start + datetime.timedelta(seconds=1))
    _callback(attempt, "completed", 3, start + datetime.timedelta(seconds=40))
    _callback(attempt, "initiated", 0, start + datetime.timedelta(seconds=1))
    _callback(attempt, "in-progress", 2, start + datetime.timedelta(seconds=1))
    client.force_login(org.outbound_admin)

    (row,) = _live(client, order)["attempts"]
    assert [e["status"] for e in row["events"]] == [
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [e["label"] for e in row["events"]] == [
        "Queued",
        "Initiated",
        "Ringing",
        "In progress",
        "Completed",
    ]
    assert row["status_label"] == "Completed" and row["outcome_label"] == "Answered"
    assert row["duration"] == 30 and row["number"] == 1 and row["to"] == attempt.to

    # The page draws the same timeline.
    html = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    marks = [html.index(f'<li data-status="{status}">') for status in ("created", "queued")]
    marks += [
        html.index(f'<li data-status="{status}">')
        for status in ("initiated", "ringing", "in-progress", "completed")
    ]
    assert marks == sorted(marks)
    assert "In progress</li>" in html and f'data-key="{row["key"]}"' in html


def test_events_without_a_sequence_number_keep_their_place(client, org, order):
    attempt = open_attempt(order)
    now = timezone.now()
    _callback(attempt, "ringing", 1, now)
    # No final callback came: the settling task fetched the status from the carrier.
    CallEvent.objects.create(attempt=attempt, status="no-answer", occurred_at=now, source="settle")
    CallEvent.objects.create(
        attempt=attempt,
        status="queued",
        occurred_at=now + datetime.timedelta(minutes=1),
        source="dialer",
    )
    client.force_login(org.outbound_admin)
    (row,) = _live(client, order)["attempts"]
    assert [e["status"] for e in row["events"]] == ["queued", "ringing", "no-answer"]
    assert row["events"][-1]["label"] == "No answer"


def test_labels_follow_the_users_language(client, org, order):
    from django.test import Client

    attempt = open_attempt(order)
    _callback(attempt, "ringing", 1, timezone.now())
    chinese = Client()
    chinese.force_login(org.outbound_admin)
    (row,) = chinese.get(reverse("campaigns:live", args=[order.pk])).json()["attempts"]
    assert row["events"][0]["label"] not in ("", "ringing", "Ringing")


def test_the_live_json_follows_the_pages_filters_and_page(client, org, order):
    contacts = list(order.contacts.order_by("pk"))
    busy = open_attempt(order, contacts[0], sid="CA" + "1" * 32)
    services.attempt_record_status(
        attempt_id=busy.pk, params={"CallStatus": "busy", "CallSid": busy.call_sid}
    )
    ringing = open_attempt(order, contacts[1], sid="CA" + "2" * 32)
    client.force_login(org.outbound_admin)

    everything = _live(client, order)
    assert [row["id"] for row in everything["attempts"]] == [ringing.pk, busy.pk]
    assert everything["attempts_matching"] == 2
    only_busy = _live(client, order, outcome="busy")
    assert [row["id"] for row in only_busy["attempts"]] == [busy.pk]
    assert only_busy["attempts_matching"] == 1
    assert _live(client, order, q=contacts[1].phone)["attempts"][0]["id"] == ringing.pk
    # The counters are the campaign's whatever the filter.
    assert only_busy["attempts_total"] == 2

    page = client.get(reverse("campaigns:detail", args=[order.pk]), {"outcome": "busy"})
    live_url = reverse("campaigns:live", args=[order.pk]) + "?outcome=busy"
    assert f'data-live-url="{live_url}"' in page.content.decode()


def test_the_key_changes_with_what_is_shown(client, org, order):
    attempt = open_attempt(order)
    client.force_login(org.outbound_admin)
    before = _live(client, order)["attempts"][0]["key"]
    assert _live(client, order)["attempts"][0]["key"] == before
    _callback(attempt, "ringing", 1, timezone.now())
    assert _live(client, order)["attempts"][0]["key"] != before


def test_recordings_reach_only_those_who_may_hear_them(client, org, order):
    attempt = open_attempt(order)
    _callback(attempt, "completed", 3, timezone.now())
    Recording.objects.create(
        attempt=attempt,
        sid="RE" + "a" * 32,
        account_sid="AC" + "5a" * 16,
        call_sid=attempt.call_sid,
        status=Recording.Status.COMPLETED,
        duration=12,
    )
    client.force_login(org.outbound_admin)
    (row,) = _live(client, order)["attempts"]
    assert row["recordings"] == [
        {
            "sid": "RE" + "a" * 32,
            "duration": 12,
            "mp3": reverse("recordings:audio", kwargs={"sid": "RE" + "a" * 32, "format": "mp3"}),
            "wav": reverse("recordings:audio", kwargs={"sid": "RE" + "a" * 32, "format": "wav"}),
        }
    ]
    client.force_login(org.requester)
    assert _live(client, order)["attempts"][0]["recordings"] == []


def _attempts(order, offset: int, count: int) -> None:
    contacts = Contact.objects.bulk_create(
        Contact(campaign=order, phone=phone, name="Extra") for phone in phones(count, 7000 + offset)
    )
    for n, contact in enumerate(contacts):
        attempt = open_attempt(order, contact, sid=f"CA{offset + n:032d}")
        for sequence, status in enumerate(("initiated", "ringing", "completed")):
            _callback(attempt, status, sequence, timezone.now())
        Recording.objects.create(
            attempt=attempt,
            sid=f"RE{offset + n:032d}",
            account_sid="AC" + "5a" * 16,
            call_sid=attempt.call_sid,
            status=Recording.Status.COMPLETED,
            duration=12,
        )


def test_live_json_query_count_does_not_grow(client, org, order):
    client.force_login(org.outbound_admin)
    url = reverse("campaigns:live", args=[order.pk])
    _attempts(order, 0, 2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["attempts"]) == 2
    _attempts(order, 100, 60)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["attempts"]) == 50
    # session, user, groups, the campaign with its settings, three for the counters (the
    # kept counts, the open calls, the last minutes' calls: the pager's count is the kept
    # total), the page of attempts, their events, their recordings
    assert len(few) == len(many) == 10
    assert CallAttempt.objects.count() == 62
