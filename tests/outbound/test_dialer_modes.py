"""Who places the calls: the dialer calls automated campaigns by itself; agent campaigns
are dialled from the console. The dialer's TwiML webhook hands voice calls to the survey."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from config.celery import app
from outbound.dialer.services import running_campaign_ids
from outbound.models import CallAttempt, WorkOrder
from tests.outbound.test_dialer_fixtures import make_campaign, phones, signed_post, start
from tests.outbound.test_voice_fixtures import keypad_questionnaire

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    from tests.factories import Org

    return Org()


def test_only_automated_campaigns_are_dialled_by_the_dialer(org):
    voice = start(make_campaign(org, phones=phones(2)), org)
    agents = start(make_campaign(org, phones=phones(2, 10), mode=WorkOrder.Mode.AGENTS), org)
    running = running_campaign_ids()
    assert voice.dialing.pk in running
    assert agents.dialing.pk not in running


def test_the_twiml_webhook_starts_the_voice_survey(org, client, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    order = start(make_campaign(org, phones=phones(1)), org)
    WorkOrder.objects.filter(pk=order.pk).update(questionnaire=keypad_questionnaire())
    attempt = CallAttempt.objects.create(
        campaign=order,
        contact=order.contacts.get(),
        number=1,
        to=phones(1)[0],
        caller_id="+8673110086",
        call_sid="CA" + "1" * 32,
        status="in-progress",
    )
    path = reverse("telephony:twiml", args=[attempt.pk])
    response = signed_post(client, path, {"CallSid": attempt.call_sid, "CallStatus": "in-progress"})
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314  (our own document)
    assert root.tag == "Response"
    gather = root.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf"
    assert "/twilio/voice/interviews/" in gather.get("action")


def test_every_periodic_task_is_registered():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
    for name in ("outbound.contacts.tasks", "outbound.agent.tasks", "outbound.voice.tasks"):
        assert name in app.conf.imports
