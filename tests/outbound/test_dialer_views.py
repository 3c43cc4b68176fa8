"""The campaign page: who sees it, who operates it, the live numbers, the settings form,
the attempts with their timelines, and contacts at risk of missing their deadline."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outbound.models import (
    CallAttempt,
    CallEvent,
    CampaignSettings,
    Contact,
    DialState,
    Recording,
    WorkOrder,
)
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture
def order(org, telephony_settings):
    return make_campaign(org, phones=phones(3))


def _login(client, user):
    client.force_login(user)
    return client


def test_who_sees_the_campaign(client, org, order):
    detail = reverse("campaigns:detail", args=[order.pk])
    live = reverse("campaigns:live", args=[order.pk])
    for user, status in (
        (org.outbound_admin, 200),
        (org.requester, 200),
        (org.agent, 200),  # on the order's team
        (org.nobody, 404),
        (org.other_requester, 404),
        (org.analyst, 404),
    ):
        _login(client, user)
        assert client.get(detail).status_code == status, user
        assert client.get(live).status_code == status, user
    client.logout()
    assert client.get(detail).status_code == 302  # to the login page


def test_only_the_outbound_administrator_sees_the_controls(client, org, order):
    page = _login(client, org.outbound_admin).get(reverse("campaigns:detail", args=[order.pk]))
    assert b"/start/" in page.content and b"/settings/" in page.content
    page = _login(client, org.requester).get(reverse("campaigns:detail", args=[order.pk]))
    assert b"/start/" not in page.content and b"/settings/" not in page.content


def test_start_pause_resume_stop(client, org, order):
    _login(client, org.outbound_admin)

    def act(action):
        return client.post(reverse("campaigns:control", args=[order.pk, action]))

    assert act("start").status_code == 302
    rules = CampaignSettings.objects.get(pk=order.pk)
    assert rules.state == "running" and rules.started_by == org.outbound_admin
    assert DialState.objects.filter(campaign=order, status="pending").count() == 3
    act("pause")
    assert CampaignSettings.objects.get(pk=order.pk).state == "paused"
    act("pause")  # already paused: refused with a message, nothing changes
    assert CampaignSettings.objects.get(pk=order.pk).state == "paused"
    act("resume")
    assert CampaignSettings.objects.get(pk=order.pk).state == "running"
    response = act("stop")
    assert CampaignSettings.objects.get(pk=order.pk).state == "stopped"
    page = client.get(response.url)
    assert b"The campaign is stopped." in page.content
    assert act("resume").status_code == 302
    assert CampaignSettings.objects.get(pk=order.pk).state == "stopped"
    assert client.get(reverse("campaigns:control", args=[order.pk, "start"])).status_code == 405
    assert act("explode").status_code == 404


def test_others_cannot_operate(client, org, order):
    for user in (org.requester, org.agent):
        _login(client, user)
        response = client.post(reverse("campaigns:control", args=[order.pk, "start"]))
        assert response.status_code == 403
        assert client.get(reverse("campaigns:settings", args=[order.pk])).status_code == 403
    _login(client, org.nobody)
    assert client.post(reverse("campaigns:control", args=[order.pk, "start"])).status_code == 404
    assert CampaignSettings.objects.get(pk=order.pk).state == "not_started"


def test_an_order_not_approved_cannot_start(client, org, order):
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.NOT_READY)
    _login(client, org.outbound_admin)
    response = client.post(reverse("campaigns:control", args=[order.pk, "start"]), follow=True)
    assert b"Only an approved order can run as a campaign." in response.content
    assert CampaignSettings.objects.get(pk=order.pk).state == "not_started"


def test_settings_form(client, org, order):
    _login(client, org.outbound_admin)
    url = reverse("campaigns:settings", args=[order.pk])
    assert client.get(url).status_code == 200
    data = {
        "caller_id": "+8673112345",
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-20",
        "excluded_dates_text": "2026-12-10\n2026-12-05",
        "max_attempts": 4,
        "retry_busy": "on",
        "retry_busy_minutes": 20,
        "retry_no_answer_minutes": 90,
        "retry_failed_minutes": 60,
        "retry_machine_minutes": 300,
        "calls_per_second": 2.5,
        "max_concurrent": 10,
        "record": "on",
        "from_1": "09:00",
        "until_1": "18:00",
        "from_6": "10:00",
        "until_6": "12:00",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    rules = CampaignSettings.objects.get(pk=order.pk)
    assert rules.weekly_hours == {"1": ["09:00", "18:00"], "6": ["10:00", "12:00"]}
    assert rules.excluded_dates == ["2026-12-05", "2026-12-10"]
    assert rules.caller_id == "+8673112345" and rules.calls_per_second == 2.5
    assert rules.retry_busy and not rules.retry_no_answer and rules.record
    bad = client.post(
        url,
        {**data, "until_1": "08:00", "caller_id": "0731-10086", "excluded_dates_text": "soon"},
    )
    assert bad.status_code == 200
    errors = bad.context["form"].errors
    assert {"until_1", "caller_id", "excluded_dates_text"} <= set(errors)


def test_live_numbers(client, org, order):
    rules = CampaignSettings.objects.get(pk=order.pk)
    CampaignSettings.objects.filter(pk=rules.pk).update(state="running")
    from outbound.dialer import services

    services.contacts_enrol(campaign_id=order.pk)
    contacts = list(order.contacts.order_by("pk"))
    busy = open_attempt(order, contacts[0], sid="CA" + "1" * 32)
    services.attempt_record_status(
        attempt_id=busy.pk, params={"CallStatus": "busy", "CallSid": busy.call_sid}
    )
    ringing = open_attempt(order, contacts[1], sid="CA" + "2" * 32)
    services.attempt_record_status(
        attempt_id=ringing.pk, params={"CallStatus": "in-progress", "CallSid": ringing.call_sid}
    )
    DialState.objects.filter(pk=contacts[2].pk).update(
        status="excluded", excluded_reason="do_not_call"
    )
    data = _login(client, org.requester).get(reverse("campaigns:live", args=[order.pk])).json()
    assert data["state"] == "running"
    assert data["contacts_total"] == 3
    assert data["contacts"]["pending"] == 1 and data["contacts"]["dialing"] == 1
    assert data["contacts"]["excluded"] == 1 and data["do_not_call_hits"] == 1
    assert data["outcomes"]["busy"] == 1 and data["attempts_total"] == 2
    assert data["in_progress"] == 1 and data["attempts_open"] == 1
    assert data["calls_last_minute"] == 2 and sum(data["per_minute"]) == 2


def test_attempts_with_timelines_and_recordings_in_constant_queries(client, org, order):
    from outbound.dialer import services

    def add_attempts(offset: int, count: int):
        contacts = Contact.objects.bulk_create(
            [
                Contact(campaign=order, phone=phone, name="Extra")
                for phone in phones(count, 5000 + offset)
            ]
        )
        for n, contact in enumerate(contacts):
            attempt = open_attempt(order, contact, sid=f"CA{offset + n:032d}")
            for status in ("ringing", "in-progress", "completed"):
                services.attempt_record_status(
                    attempt_id=attempt.pk, params={"CallStatus": status, "CallDuration": "12"}
                )
            Recording.objects.create(
                attempt=attempt,
                sid=f"RE{offset + n:032d}",
                account_sid="AC" + "5a" * 16,
                call_sid=attempt.call_sid,
                status=Recording.Status.COMPLETED,
                duration=12,
            )

    _login(client, org.outbound_admin)
    url = reverse("campaigns:detail", args=[order.pk])
    add_attempts(0, 2)
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    add_attempts(100, 8)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)
    player = reverse("recordings:audio", kwargs={"sid": f"RE{0:032d}", "format": "mp3"})
    assert player.encode() in page.content and b"in-progress" in page.content
    assert CallEvent.objects.count() == 10 * 3
    filtered = client.get(url, {"outcome": "answered", "q": phones(1, 5000)[0]})
    assert list(filtered.context["page"]) == [CallAttempt.objects.get(to=phones(1, 5000)[0])]
    assert client.get(url, {"outcome": "busy"}).context["page"].paginator.count == 0


def test_contacts_past_their_deadline_are_shown_apart_from_those_at_risk(
    client, org, telephony_settings
):
    telephony_settings.WAIHU_DEADLINE_RISK_DAYS = 1
    order = make_campaign(org, phones=phones(5), kind=WorkOrder.Kind.COMPLAINT_CALLBACK)
    today = timezone.localdate()
    contacts = list(order.contacts.order_by("pk"))
    for contact, days in zip(contacts, (0, 1, 5, -1, -2), strict=True):
        Contact.objects.filter(pk=contact.pk).update(deadline=today + datetime.timedelta(days=days))
    DialState.objects.create(contact=contacts[3], campaign=order, status="reached")
    page = _login(client, org.requester).get(reverse("campaigns:detail", args=[order.pk]))
    deadlines = page.context["deadlines"]
    assert [c.pk for c in deadlines["at_risk"]] == [contacts[0].pk, contacts[1].pk]
    assert [c.pk for c in deadlines["overdue"]] == [contacts[4].pk]
    assert page.context["deadline_counts"] == {"overdue": 1, "at_risk": 2}
    html = page.content.decode()
    assert "1 contact past the deadline" in html
    assert "2 contacts at risk of missing the deadline" in html
    link = reverse("contacts:campaign_contacts", args=[order.pk]) + "?deadline=overdue"
    assert link in html
    # Agents on the team see the campaign, not its contact list: no link for them.
    page = _login(client, org.agent).get(reverse("campaigns:detail", args=[order.pk]))
    assert link not in page.content.decode() and "past the deadline" in page.content.decode()


def test_a_campaign_without_deadlines_shows_none(client, org, order):
    page = _login(client, org.requester).get(reverse("campaigns:detail", args=[order.pk]))
    assert page.context["deadlines"] == {} and page.context["deadline_counts"] == {}
    assert b'data-testid="deadlines"' not in page.content
