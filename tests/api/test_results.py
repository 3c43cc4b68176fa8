"""Completed interviews read through the cursor: everything since the last read, nothing
twice, nothing missed; progress and the per-question tables."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from outbound.models import Interview
from tests.api.conftest import Caller, make_integration
from tests.api.helpers import interview_done, with_questionnaire

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2031, 3, 3, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def surveyed(org, campaign):
    return with_questionnaire(campaign, org.questionnaire)


def read_all(caller, campaign, cursor=None, limit=3):
    seen, pages = [], 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = caller.get(f"/api/v1/campaigns/{campaign.pk}/interviews", **params).json()
        seen += [i["id"] for i in body["interviews"]]
        cursor = body["cursor"]
        pages += 1
        if not body["more"]:
            return seen, cursor, pages


def test_the_cursor_reads_everything_once_and_then_only_what_is_new(caller, surveyed, settings):
    settings.WAIHU_API_RESULTS_SETTLE_SECONDS = 5
    same_moment = NOON - datetime.timedelta(minutes=5)
    made = [interview_done(surveyed, f"+861380000000{n}", same_moment) for n in range(4)]
    made += [
        interview_done(surveyed, f"+861390000000{n}", NOON - datetime.timedelta(minutes=n))
        for n in range(3)
    ]
    interview_done(surveyed, "+8613700000000", NOON, disposition=Interview.Disposition.REFUSED)
    with time_machine.travel(NOON + datetime.timedelta(seconds=10), tick=False):
        seen, cursor, pages = read_all(caller, surveyed)
    assert sorted(seen) == sorted(i.pk for i in made) and len(seen) == len(set(seen))
    assert pages == 3
    # Closed a moment ago: left for the next read, so a slower transaction is not skipped.
    late = interview_done(surveyed, "+8613600000000", NOON + datetime.timedelta(seconds=8))
    with time_machine.travel(NOON + datetime.timedelta(seconds=10), tick=False):
        assert read_all(caller, surveyed, cursor)[0] == []
    with time_machine.travel(NOON + datetime.timedelta(seconds=20), tick=False):
        again, cursor_after, _pages = read_all(caller, surveyed, cursor)
        assert again == [late.pk]
        assert read_all(caller, surveyed, cursor_after)[0] == []


def test_answers_come_with_codes_and_labels(caller, surveyed, settings):
    settings.WAIHU_API_RESULTS_SETTLE_SECONDS = 0
    interview_done(surveyed, "+8613800000001", NOON, satisfaction=4)
    with time_machine.travel(NOON + datetime.timedelta(seconds=1), tick=False):
        body = caller.get(f"/api/v1/campaigns/{surveyed.pk}/interviews").json()
    (interview,) = body["interviews"]
    assert interview["contact"]["phone"] == "+8613800000001"
    (answer,) = interview["answers"]
    assert answer["type"] == "scale"
    assert answer["choices"] == [{"code": 4, "label": "Not very satisfied", "specify": None}]


def test_a_cursor_waihu_did_not_give_is_refused(caller, surveyed):
    response = caller.get(f"/api/v1/campaigns/{surveyed.pk}/interviews", cursor="nonsense!")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_cursor",
        "message": "This cursor is not one Waihu gave.",
        "field": "cursor",
    }


def test_reading_results_needs_the_scope_and_the_reach(
    client, org, caller, surveyed, other_campaign
):
    assert caller.get(f"/api/v1/campaigns/{other_campaign.pk}/interviews").status_code == 404
    assert caller.get(f"/api/v1/campaigns/{other_campaign.pk}/tables").status_code == 404
    _integration, token = make_integration(org, scopes=["contacts"], name="pusher")
    pusher = Caller(client, token)
    for path in ("interviews", "progress", "tables"):
        response = pusher.get(f"/api/v1/campaigns/{surveyed.pk}/{path}")
        assert response.status_code == 403, path


def test_progress_and_tables(caller, surveyed, settings):
    for n, code in enumerate((1, 1, 5)):
        interview_done(surveyed, f"+861380000000{n}", timezone.now(), satisfaction=code)
    progress = caller.get(f"/api/v1/campaigns/{surveyed.pk}/progress").json()
    assert progress["contacts_total"] == 3 and progress["interviews_completed"] == 3
    assert progress["state"] == "not_started"
    tables = caller.get(f"/api/v1/campaigns/{surveyed.pk}/tables").json()
    scale = next(t for t in tables if t["type"] == "scale")
    counts = {row["code"]: row["count"] for row in scale["rows"]}
    assert counts["1"] == 2 and counts["5"] == 1


def test_a_page_of_interviews_holds_to_its_documented_schema(caller, surveyed, settings):
    from api.api import InterviewOut, InterviewPage

    settings.WAIHU_API_RESULTS_SETTLE_SECONDS = 0
    for n in range(3):
        interview_done(surveyed, f"+861380000000{n}", NOON, satisfaction=n + 1)
    with time_machine.travel(NOON + datetime.timedelta(seconds=1), tick=False):
        body = caller.get(f"/api/v1/campaigns/{surveyed.pk}/interviews", limit=2).json()
    page = InterviewPage.model_validate(body)
    assert len(page.interviews) == 2 and page.more
    assert (
        page.model_dump(mode="json")["interviews"][0]["answers"]
        == (body["interviews"][0]["answers"])
    )
    assert set(body) == set(InterviewPage.model_fields)
    assert set(body["interviews"][0]) == set(InterviewOut.model_fields)
