"""Open answers spoken on the automated voice survey: analysts hear them on the results
page, through Waihu (the carrier's address needs the account's credentials), and find them
in the workbook; requesters read the answers but do not hear the customers' voices."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from outbound import telephony
from outbound.models import SpokenAnswer
from reports.excel import workbook_write
from reports.results import results_build
from reports.selectors import ResultFilters
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_voice_open import _campaign, _play

pytestmark = pytest.mark.django_db
org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture
def spoken(client, org, monkeypatch, telephony_settings):
    telephony_settings.WAIHU_SANDBOX_OPT_OUT_PERCENT = 0
    attempt = _campaign(org)
    _play(client, monkeypatch, attempt)

    def get(url, auth, headers, stream, timeout):
        # The carrier's media address, answered by the sandbox through the test client.
        response = client.get(
            url.removeprefix("http://testserver"),
            headers={"Authorization": _basic(*auth), **headers},
        )
        response.iter_content = lambda chunk_size: iter([response.content])
        response.close = lambda: None
        return response

    monkeypatch.setattr(telephony._media_session, "get", get)
    client.logout()
    return SpokenAnswer.objects.select_related("interview__campaign", "question").get()


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _page(client, answer: SpokenAnswer) -> str:
    url = reverse(
        "campaign_reports:open_answers", args=[answer.interview.campaign_id, answer.question_id]
    )
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_an_analyst_hears_the_spoken_answer(client, org, spoken):
    client.force_login(org.analyst)
    page = _page(client, spoken)
    assert f'data-recording="{spoken.recording_sid}"' in page
    audio = client.get(
        reverse("recordings:audio", kwargs={"sid": spoken.recording_sid, "format": "wav"})
    )
    assert audio.status_code == 200
    assert b"".join(audio.streaming_content)[:4] == b"RIFF"


def test_a_requester_reads_but_does_not_hear(client, org, spoken):
    client.force_login(org.requester)
    page = _page(client, spoken)
    assert "data-recording" not in page
    audio = client.get(
        reverse("recordings:audio", kwargs={"sid": spoken.recording_sid, "format": "wav"})
    )
    assert audio.status_code == 404


def test_the_workbook_links_the_spoken_answer_in_waihu(org, spoken, tmp_path, settings):
    campaign = spoken.interview.campaign
    results = results_build(
        version=campaign.questionnaire, filters=ResultFilters(), campaign=campaign
    )
    target = tmp_path / "results.xlsx"
    workbook_write(results=results, target=target)
    sheet = load_workbook(io.BytesIO(target.read_bytes()), read_only=True)["Open answers"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "Recording"
    link = settings.PUBLIC_BASE_URL + reverse(
        "recordings:audio", kwargs={"sid": spoken.recording_sid, "format": "mp3"}
    )
    assert next(row for row in rows[1:] if row[1] == spoken.question.code)[-1] == link
    assert "api.twilio.com" not in str(rows) and "/sandbox/" not in str(rows)
