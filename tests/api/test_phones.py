"""What an integration reads of customers' numbers: masked unless its token has the phones
scope, in the results it reads and the events it subscribed to; a subscription the system
administrator made (for every campaign) gets them whole."""

import datetime
import json

import pytest
from django.utils import timezone

from api.models import Event, Scope
from api.services import subscription_create
from outbound.signals import interview_closed
from tests.api.conftest import Caller, make_integration
from tests.api.helpers import interview_done, with_questionnaire
from tests.api.test_events import posted  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

PHONE = "+8613800001234"


@pytest.fixture
def surveyed(org, campaign, settings):
    settings.WAIHU_API_RESULTS_SETTLE_SECONDS = 0
    return with_questionnaire(campaign, org.questionnaire)


def _read(client, token, campaign) -> str:
    body = Caller(client, token).get(f"/api/v1/campaigns/{campaign.pk}/interviews").json()
    (interview,) = body["interviews"]
    return interview["contact"]["phone"]


def test_results_carry_numbers_whole_only_with_the_phones_scope(client, org, surveyed):
    interview_done(surveyed, PHONE, timezone.now() - datetime.timedelta(minutes=1))
    without = [s for s in Scope.values if s != Scope.PHONES]
    _plain, token = make_integration(org, scopes=without, name="dashboard")
    _whole, whole_token = make_integration(org, name="complaints")
    assert _read(client, token, surveyed) == "138****1234"
    assert _read(client, whole_token, surveyed) == PHONE


def test_events_carry_numbers_as_the_subscribing_integration_may_read_them(
    org,
    surveyed,
    posted,  # noqa: F811  (the fixture imported above)
    django_capture_on_commit_callbacks,
):
    without = [s for s in Scope.values if s != Scope.PHONES]
    plain, _t = make_integration(org, scopes=without, name="dashboard")
    whole, _t = make_integration(org, name="complaints")
    events = ["interview.completed"]
    for name, integration in (("plain", plain), ("whole", whole), ("admin's", None)):
        subscription_create(
            name=name, url=f"http://{name[:5]}.example/", events=events, integration=integration
        )
    done = interview_done(surveyed, PHONE, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        interview_closed.send(sender=None, interview_id=done.pk)
    phones = {
        url: json.loads(body)["data"]["interview"]["contact"]["phone"] for url, body, _h in posted
    }
    assert phones == {
        "http://plain.example/": "138****1234",
        "http://whole.example/": PHONE,
        "http://admin.example/": PHONE,
    }
    # The event is kept once, as it happened; each receiver's copy is masked on the way out.
    assert Event.objects.get().data["interview"]["contact"]["phone"] == PHONE
