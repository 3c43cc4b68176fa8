"""The campaign page in Chromium: Stop asks first (cancelling changes nothing, accepting
stops the campaign), and the attempts table follows the calls with the counters, drawn
as text in the carrier's order."""

import email.utils

import pytest
from django.utils import timezone

from outbound.dialer import services
from outbound.models import CallEvent, CampaignSettings
from tests.e2e.conftest import login
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture
def running(org, telephony_settings):
    order = make_campaign(org, phones=phones(2))
    CampaignSettings.objects.filter(pk=order.pk).update(state=CampaignSettings.State.RUNNING)
    return order


def _state(order) -> str:
    return CampaignSettings.objects.get(pk=order.pk).state


def test_stop_asks_first(page, live_server, org, running):
    login(page, live_server, org.outbound_admin.username)
    page.goto(f"{live_server.url}/campaigns/{running.pk}/")
    asked = []

    def dismiss(dialog):
        asked.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("[data-testid=stop]")
    page.wait_for_timeout(500)  # time for a navigation that must not happen
    assert asked and asked[0][0] == "confirm" and "cannot be undone" in asked[0][1]
    assert _state(running) == "running"
    assert page.url == f"{live_server.url}/campaigns/{running.pk}/"
    assert page.inner_text("[data-testid=campaign-state]") == "Running"

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("[data-testid=stop]")
    assert "The campaign is stopped." in page.inner_text(".alert-success")
    assert _state(running) == "stopped"
    assert page.locator("[data-testid=stop]").count() == 0


def _callback(attempt, status: str, sequence: int) -> None:
    services.attempt_record_status(
        attempt_id=attempt.pk,
        params={
            "CallStatus": status,
            "CallSid": attempt.call_sid,
            "SequenceNumber": str(sequence),
            "Timestamp": email.utils.format_datetime(timezone.now(), usegmt=True),
        },
    )


def _timeline(page, attempt) -> list[str]:
    return page.locator(f"tr[data-attempt='{attempt.pk}'] ol li").evaluate_all(
        "items => items.map(i => i.dataset.status)"
    )


def test_the_attempts_table_follows_the_calls(page, live_server, org, running):
    contact = running.contacts.order_by("pk").first()
    contact.name = '<img src=x data-injected="1">Li'
    contact.save()
    login(page, live_server, org.outbound_admin.username)
    page.goto(f"{live_server.url}/campaigns/{running.pk}/")
    assert page.locator("[data-testid=attempts] tr[data-empty]").count() == 1

    # A call starts while the page is open; its callbacks come in out of order.
    attempt = open_attempt(running, contact)
    CallEvent.objects.create(
        attempt=attempt, status="queued", occurred_at=timezone.now(), source="dialer"
    )
    _callback(attempt, "ringing", 2)
    _callback(attempt, "initiated", 1)
    row = page.locator(f"[data-testid=attempts] tr[data-attempt='{attempt.pk}']")
    row.wait_for(timeout=10_000)
    assert page.locator("[data-testid=attempts] tr[data-empty]").count() == 0
    assert page.inner_text("[data-live=attempts_total]") == "1"
    assert _timeline(page, attempt) == ["created", "queued", "initiated", "ringing"]
    assert "Ringing" in row.inner_text()
    # The customer's name is shown as typed, never read as markup.
    assert contact.name in row.inner_text()
    assert page.locator("[data-injected]").count() == 0

    # It is answered and ends: the same row follows, with its outcome.
    _callback(attempt, "completed", 4)
    _callback(attempt, "in-progress", 3)
    page.wait_for_function(
        "id => document.querySelector(`tr[data-attempt='${id}']`).innerText.includes('Answered')",
        arg=attempt.pk,
        timeout=10_000,
    )
    assert _timeline(page, attempt) == [
        "created",
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert page.inner_text("[data-live='outcomes.answered']") == "1"
    assert page.locator("[data-testid=attempts] tbody tr").count() == 1
