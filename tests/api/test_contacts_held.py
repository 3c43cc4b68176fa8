"""A batch pushed once the outbound administrator has started the campaign waits for an
outbound administrator's acceptance, as a late upload does: stored, but out of the dialing
queue until accepted; a batch before the start goes straight in."""

import pytest

from accounts.models import AuditAction, AuditEvent
from outbound.contacts import acceptance
from outbound.dialer.services import contacts_enrol
from outbound.models import CampaignSettings, Contact, ContactHold, DialState

pytestmark = pytest.mark.django_db

BATCH = {"contacts": [{"phone": "13812345678"}, {"phone": "13812345679"}]}


def push(caller, campaign, body=BATCH, key="k1"):
    response = caller.post(
        f"/api/v1/campaigns/{campaign.pk}/contacts", body, headers={"idempotency-key": key}
    )
    assert response.status_code == 200, response.content
    return response.json()


def started(campaign, state=CampaignSettings.State.RUNNING):
    CampaignSettings.objects.create(campaign=campaign, state=state)
    return campaign


def test_a_batch_before_the_start_goes_straight_into_the_queue(caller, campaign):
    outcome = push(caller, campaign)
    assert outcome["accepted"] == 2 and outcome["awaiting_acceptance"] is False
    assert not ContactHold.objects.exists()
    assert contacts_enrol(campaign_id=campaign.pk) == 2


def test_a_batch_after_the_start_is_held_until_accepted(caller, campaign, org):
    started(campaign)
    outcome = push(caller, campaign)
    assert outcome["accepted"] == 2 and outcome["awaiting_acceptance"] is True
    hold = ContactHold.objects.get()
    assert (hold.source, hold.label, hold.contacts_count) == ("api", "complaints · k1", 2)
    assert Contact.objects.filter(campaign=campaign, hold=hold).count() == 2
    assert contacts_enrol(campaign_id=campaign.pk) == 0
    # The same batch again is the same answer, and holds nothing more.
    assert push(caller, campaign)["awaiting_acceptance"] is True
    assert ContactHold.objects.count() == 1

    acceptance.hold_accept(hold=hold, user=org.outbound_admin)
    assert contacts_enrol(campaign_id=campaign.pk) == 2
    assert DialState.objects.filter(campaign=campaign).count() == 2
    assert AuditEvent.objects.filter(
        action=AuditAction.CONTACTS_ACCEPT, user=org.outbound_admin
    ).exists()


def test_a_declined_batch_is_removed(caller, campaign, org):
    started(campaign, CampaignSettings.State.PAUSED)
    push(caller, campaign)
    hold = acceptance.hold_decline(hold=ContactHold.objects.get(), user=org.outbound_admin)
    assert (hold.status, hold.contacts_count) == ("declined", 2)
    assert not Contact.objects.filter(campaign=campaign).exists()
    assert AuditEvent.objects.get(action=AuditAction.CONTACTS_DECLINE).details["contacts"] == 2


def test_refused_numbers_are_refused_and_a_batch_with_nothing_stored_holds_nothing(
    caller, campaign
):
    started(campaign)
    body = {"contacts": [{"phone": "+44 909 090 1234"}, {"phone": "16012345"}]}
    outcome = push(caller, campaign, body)
    assert outcome["accepted"] == 0 and outcome["awaiting_acceptance"] is False
    assert [(row["index"], row["reason"], row["message"]) for row in outcome["rejected"]] == [
        (0, "foreign_number", "Number of a country the centre does not call"),
        (1, "special_number", "Premium-rate or special-service number"),
    ]
    assert not ContactHold.objects.exists()
