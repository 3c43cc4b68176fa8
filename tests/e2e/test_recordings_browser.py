"""An outbound administrator listens to a recorded call in Chromium: the Listen button on
the campaign's attempts opens a player whose audio is streamed through Waihu from the
sandbox, fetched with the account's credentials."""

import re

import pytest

from outbound.models import Recording
from tests.e2e.conftest import login
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_recordings import place_recorded_call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The shared fixtures, used by name.
org, sandbox, telephony_settings = fx.org, fx.sandbox, fx.telephony_settings


def test_an_administrator_plays_a_recording(page, org, sandbox):
    attempt, _call = place_recorded_call(org)
    recording = Recording.objects.get(attempt=attempt)
    login(page, sandbox, org.outbound_admin.username)
    page.goto(f"{sandbox.url}/campaigns/{attempt.campaign_id}/")
    player = page.locator(f"[data-recording='{recording.sid}']")
    audio = player.locator("audio")
    assert audio.get_attribute("preload") == "none"
    media = re.compile(rf"/recordings/{recording.sid}\.(mp3|wav)$")
    with page.expect_response(lambda response: media.search(response.url)) as answered:
        player.locator("summary").click()
        audio.evaluate("audio => audio.play().catch(() => null)")
    assert answered.value.status in (200, 206)
    page.wait_for_function(
        "audio => audio.readyState >= 1 && audio.error === null", arg=audio.element_handle()
    )
    assert audio.evaluate("audio => audio.duration") > 0.9
    assert audio.evaluate("audio => audio.currentSrc").endswith(".mp3")
