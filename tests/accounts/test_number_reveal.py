"""Revealing a masked number: the campaign's requester and an agent who called the contact
get it whole and the audit trail keeps the reveal (with the number masked); anyone else
gets 403 and nothing is kept."""

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from tests.accounts.phone_scenario import CALLED, CURRENT, OTHER, build, digits, masked
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


@pytest.fixture
def s(django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return build(django_capture_on_commit_callbacks)


def _reveal(client, user, contact, **kwargs):
    client.force_login(user)
    return client.post(reverse("contacts:number_reveal", args=[contact.pk]), **kwargs)


@pytest.mark.parametrize(
    ("role", "number"),
    [("requester", CURRENT), ("requester", OTHER), ("agent", CALLED), ("outbound_admin", OTHER)],
)
def test_an_allowed_reveal_gives_the_number_and_is_kept(client, s, role, number):
    user, contact = s.users[role], s.contacts[number]
    response = _reveal(client, user, contact, headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"contact": contact.pk, "phone": number}
    assert "no-store" in response["Cache-Control"]
    (event,) = AuditEvent.objects.filter(action=AuditAction.NUMBER_REVEAL)
    assert event.user == user and event.target_type == "outbound.contact"
    assert event.target_id == str(contact.pk)
    assert event.details["campaign"] == s.campaign.pk
    kept = event.description + str(event.details)
    assert digits(number) not in kept and masked(number) in event.description
    # Each reveal is kept, not only the first.
    _reveal(client, user, contact, headers=JSON)
    assert AuditEvent.objects.filter(action=AuditAction.NUMBER_REVEAL).count() == 2


@pytest.mark.parametrize(
    ("role", "number"),
    [
        ("agent", OTHER),  # never called them
        ("analyst", OTHER),
        ("approver", OTHER),
        ("system_admin", OTHER),
        ("other_requester", OTHER),
        ("other_agent", CALLED),
    ],
)
def test_a_reveal_not_allowed_is_refused_and_not_kept(client, s, role, number):
    users = {
        **s.users,
        "other_requester": s.org.other_requester,
        "other_agent": UserFactory(
            username="agent2", department=s.org.centre, roles=["call_agent"]
        ),
    }
    response = _reveal(client, users[role], s.contacts[number], headers=JSON)
    assert response.status_code == 403
    assert digits(number) not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.NUMBER_REVEAL).exists()


def test_a_reveal_is_a_post(client, s):
    client.force_login(s.org.requester)
    response = client.get(reverse("contacts:number_reveal", args=[s.contacts[OTHER].pk]))
    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action=AuditAction.NUMBER_REVEAL).exists()


def test_an_unknown_contact_is_not_found(client, s):
    client.force_login(s.org.requester)
    response = client.post(reverse("contacts:number_reveal", args=[999_999]))
    assert response.status_code == 404


def test_without_scripts_the_number_shows_on_a_page_and_links_back(client, s):
    back = reverse("contacts:campaign_contacts", args=[s.campaign.pk])
    response = _reveal(client, s.org.requester, s.contacts[OTHER], data={"next": back})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-testid="revealed-number">{OTHER}<' in page
    assert f'href="{back}"' in page
    # A link elsewhere is not followed back.
    elsewhere = _reveal(
        client, s.org.requester, s.contacts[OTHER], data={"next": "https://example.com/"}
    )
    assert "https://example.com/" not in elsewhere.content.decode()


def _buttons(page: str) -> int:
    return page.count('data-testid="reveal"')


def test_the_reveal_button_is_beside_masked_numbers_the_user_may_reveal(client, s):
    contacts = reverse("contacts:campaign_contacts", args=[s.campaign.pk])
    client.force_login(s.org.requester)
    page = client.get(contacts).content.decode()
    assert _buttons(page) == 3 and "waihu/reveal.js" in page
    for number in (CURRENT, CALLED, OTHER):
        action = reverse("contacts:number_reveal", args=[s.contacts[number].pk])
        assert f'action="{action}"' in page
    # Outbound administrators see every number whole: nothing to reveal.
    client.force_login(s.org.outbound_admin)
    assert _buttons(client.get(contacts).content.decode()) == 0
    # The system administrator sees them masked, and may not reveal them.
    client.force_login(s.users["system_admin"])
    page = client.get(contacts).content.decode()
    assert _buttons(page) == 0 and masked(OTHER) in page
    # The agent: the contact called before has the button; the one held now is whole.
    client.force_login(s.org.agent)
    called = client.get(reverse("agent:interview", args=[s.called.pk])).content.decode()
    assert _buttons(called) == 1 and masked(CALLED) in called
    held = client.get(reverse("agent:interview", args=[s.held.pk])).content.decode()
    assert _buttons(held) == 0 and digits(CURRENT) in held
