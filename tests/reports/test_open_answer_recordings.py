"""An open answer's interview can be heard from the answers page by those who may hear
calls (analysts, outbound administrators), not by the requester who reads the page."""

import pytest
from django.urls import reverse

from outbound import telephony
from outbound.models import Interview, Recording
from surveys.models import Question
from tests.factories import Org
from tests.reports.test_campaign_results import _campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    return Org()


def test_the_player_shows_beside_an_open_answer_for_those_who_may_hear(client, org, demo_version):
    order, _a, _b, _contacts = _campaign(org, demo_version, extra_completes=3)
    q15 = Question.objects.get(version=demo_version, code="Q15")
    link = reverse("campaign_reports:open_answers", args=[order.pk, q15.pk])
    client.force_login(org.analyst)
    answer, _text = client.get(link).context["rows"][0]
    attempt = Interview.objects.get(response_id=answer.response_id).attempt
    recording = Recording.objects.create(
        attempt=attempt,
        sid="RE" + "4" * 32,
        account_sid=telephony.account_sid(),
        call_sid="CA" + "4" * 32,
        status=Recording.Status.COMPLETED,
        duration=30,
    )
    marker = f'data-recording="{recording.sid}"'
    for user, shown in ((org.analyst, True), (org.outbound_admin, True), (org.requester, False)):
        client.force_login(user)
        page = client.get(link)
        assert page.status_code == 200
        assert (marker in page.content.decode()) is shown, user
