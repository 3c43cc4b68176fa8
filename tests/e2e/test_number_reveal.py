"""Revealing a masked number in Chromium: the contact list's Show button puts the whole
number in place of the masked one without leaving the page, and the reveal is kept in the
audit trail."""

import pytest

from accounts.models import AuditAction, AuditEvent
from tests.accounts.phone_scenario import OTHER, build, masked
from tests.e2e.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_show_puts_the_whole_number_in_place(
    page, live_server, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    s = build(django_capture_on_commit_callbacks)
    contact = s.contacts[OTHER]
    login(page, live_server, s.org.requester.username)
    url = f"{live_server.url}/contacts/campaigns/{s.campaign.pk}/"
    page.goto(url)
    shown = page.locator(f'[data-phone="{contact.pk}"]')
    assert shown.inner_text() == masked(OTHER)
    page.locator(f'form[data-reveal="{contact.pk}"] button').click()
    page.wait_for_function(
        "([pk, number]) => document.querySelector(`[data-phone='${pk}']`).textContent === number",
        arg=[contact.pk, OTHER],
    )
    assert page.url == url
    assert page.locator(f'form[data-reveal="{contact.pk}"]').count() == 0
    event = AuditEvent.objects.get(action=AuditAction.NUMBER_REVEAL)
    assert event.user_id == s.org.requester.pk and event.target_id == str(contact.pk)
