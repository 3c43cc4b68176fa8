"""Contacts added after the start, in Chromium: the outbound administrator's Decline and
Accept ask first (dismissing changes nothing), and accepting lets the batch be called."""

import pytest

from outbound.models import CampaignSettings, Contact, ContactHold
from outbound.services import order_submit
from tests.e2e.conftest import login
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture
def hold(org, telephony_settings):
    order = make_campaign(org, phones=phones(1))
    order_submit(order=order, user=org.requester)
    CampaignSettings.objects.filter(pk=order.pk).update(state=CampaignSettings.State.RUNNING)
    hold = ContactHold.objects.create(
        campaign=order, source="api", label="crm · batch-7", contacts_count=2
    )
    Contact.objects.bulk_create(
        Contact(campaign=order, phone=phone, hold=hold) for phone in phones(2, start=10)
    )
    return hold


def test_the_administrator_is_asked_before_deciding(page, live_server, org, hold):
    login(page, live_server, org.outbound_admin.username)
    page.goto(f"{live_server.url}/campaigns/{hold.campaign_id}/")
    batch = page.locator(f"[data-hold='{hold.pk}']")
    assert "crm · batch-7" in batch.inner_text()
    asked = []

    def dismiss(dialog):
        asked.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.once("dialog", dismiss)
    batch.locator("[data-testid=hold-decline]").click()
    page.wait_for_timeout(500)  # time for a navigation that must not happen
    assert asked == [("confirm", asked[0][1])] and "removed" in asked[0][1]
    assert ContactHold.objects.get(pk=hold.pk).status == "held"
    assert Contact.objects.filter(hold=hold).count() == 2

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        batch.locator("[data-testid=hold-accept]").click()
    assert "accepted" in page.inner_text(".alert-success")
    assert ContactHold.objects.get(pk=hold.pk).status == "accepted"
    assert page.locator("[data-testid=held-batch]").count() == 0
    assert "2 contacts accepted by" in page.inner_text("[data-testid=held-contacts]")
