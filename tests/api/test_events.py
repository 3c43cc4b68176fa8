"""Outgoing events: who gets which, signed bodies, retries with a growing wait for a day,
the delivery log and 'send again'; the receivers of the other apps' signals."""

import datetime
import json

import pytest
import time_machine
from django.utils import timezone

from api import delivery as delivery_module
from api.events import retry_delay, sign, verify
from api.models import Delivery, DissatisfiedChoice, Event, EventType
from api.services import subscription_create
from api.tasks import retry_due
from outbound.models import Interview
from outbound.services import order_decide, order_submit
from outbound.signals import interview_closed
from tests.api.conftest import ready_order
from tests.api.helpers import interview_done, satisfaction_question, with_questionnaire
from tests.factories import make_order

pytestmark = pytest.mark.django_db


class FakeResponse:
    def __init__(self, code):
        self.status_code = code

    def close(self):
        pass


@pytest.fixture
def posted(monkeypatch):
    """The requests the delivery makes, answered with the codes queued in `posted.codes`."""

    class Log(list):
        codes: list = []

    log = Log()

    def post(url, data, headers, timeout, allow_redirects):
        log.append((url, data, headers))
        return FakeResponse(log.codes.pop(0) if log.codes else 200)

    monkeypatch.setattr(delivery_module._session, "post", post)
    return log


def test_signature_verifies_and_refuses_tampering_and_age():
    body = b'{"id":"x"}'
    header = sign("secret", body, timestamp=1_900_000_000)
    assert verify("secret", body, header, now=1_900_000_010)
    assert not verify("secret", body + b" ", header, now=1_900_000_010)
    assert not verify("other", body, header, now=1_900_000_010)
    assert not verify("secret", body, header, now=1_900_000_000 + 301)


def test_an_approved_order_is_sent_signed_to_its_subscribers(
    org, posted, django_capture_on_commit_callbacks
):
    subscription = subscription_create(
        name="crm", url="http://crm.example/hook", events=["order.returned"]
    )
    subscription_create(name="deaf", url="http://other.example/", events=["campaign.started"])
    order = make_order(org.requester)
    with django_capture_on_commit_callbacks(execute=True):
        order_submit(order=order, user=org.requester)
    with django_capture_on_commit_callbacks(execute=True):
        order_decide(order=order, user=org.leader, action="return", comment="Which repairs?")
    (url, body, headers) = posted[0]
    assert len(posted) == 1 and url == "http://crm.example/hook"
    payload = json.loads(body)
    assert payload["type"] == "order.returned"
    assert payload["data"]["order"] == order.pk and payload["data"]["comment"] == "Which repairs?"
    assert headers["Waihu-Event-Id"] == payload["id"]
    assert verify(subscription.secret, body, headers["Waihu-Signature"])
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_a_receiver_that_fails_is_tried_again_with_a_growing_wait_for_a_day(
    org, posted, django_capture_on_commit_callbacks
):
    campaign = with_questionnaire(ready_order(org), org.questionnaire)
    subscription_create(name="crm", url="http://crm.example/", events=["interview.completed"])
    start = datetime.datetime(2031, 3, 3, 8, 0, tzinfo=datetime.UTC)
    posted.codes = [500] * 100
    with time_machine.travel(start, tick=False):
        interview = interview_done(campaign, "+8613800000001", timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            interview_closed.send(sender=None, interview_id=interview.pk)
    delivery = Delivery.objects.get()
    assert (delivery.attempts, delivery.response_code, delivery.status) == (1, 500, "pending")
    assert delivery.next_attempt_at == start + datetime.timedelta(seconds=30)
    moment = start
    while delivery.status == Delivery.Status.PENDING:
        moment = delivery.next_attempt_at
        with time_machine.travel(moment, tick=False):
            retry_due()
        delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert moment - start <= datetime.timedelta(days=1)
    assert moment - start > datetime.timedelta(hours=20)
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 9)] == [30, 60, 120, 7200]
    # 'Send again' puts it back on its way.
    posted.codes = []
    with django_capture_on_commit_callbacks(execute=True):
        delivery_module.delivery_send_again(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.response_code == 200


def test_a_completed_dissatisfied_interview_raises_both_events(
    org, posted, django_capture_on_commit_callbacks
):
    campaign = with_questionnaire(ready_order(org), org.questionnaire)
    question = satisfaction_question(org.questionnaire)
    for code in (4, 5):
        DissatisfiedChoice.objects.create(choice=question.choices.get(code=code))
    subscription_create(
        name="repairs",
        url="http://repairs.example/",
        events=["interview.completed", "interview.dissatisfied", "contact.opted_out"],
    )
    happy = interview_done(campaign, "+8613800000001", timezone.now(), satisfaction=1)
    unhappy = interview_done(campaign, "+8613800000002", timezone.now(), satisfaction=5)
    opted = interview_done(
        campaign, "+8613800000003", timezone.now(), disposition=Interview.Disposition.DO_NOT_CALL
    )
    with django_capture_on_commit_callbacks(execute=True):
        for interview in (happy, unhappy, opted):
            interview_closed.send(sender=None, interview_id=interview.pk)
    types = [(json.loads(body)["type"], json.loads(body)["data"]) for _u, body, _h in posted]
    assert [t for t, _d in types] == [
        "interview.completed",
        "interview.completed",
        "interview.dissatisfied",
        "contact.opted_out",
    ]
    assert types[2][1]["answers"] == [{"question": question.code, "code": 5, "label": "Very poor"}]
    assert types[1][1]["interview"]["answers"][0]["choices"][0]["code"] == 5
    assert types[3][1]["contact"]["phone"] == "+8613800000003"


def test_an_integrations_subscription_hears_only_of_its_reach(
    org, integration, posted, django_capture_on_commit_callbacks
):
    mine = with_questionnaire(ready_order(org), org.questionnaire)
    theirs = with_questionnaire(ready_order(org, requester=org.other_requester), org.questionnaire)
    subscription_create(
        name="crm",
        url="http://crm.example/",
        events=["interview.completed"],
        integration=integration[0],
    )
    with django_capture_on_commit_callbacks(execute=True):
        for campaign in (mine, theirs):
            interview = interview_done(campaign, "+8613800000001", timezone.now())
            interview_closed.send(sender=None, interview_id=interview.pk)
    assert [json.loads(b)["data"]["campaign"] for _u, b, _h in posted] == [mine.pk]
    assert Event.objects.count() == 1


def test_nobody_listening_records_nothing(org, posted, django_capture_on_commit_callbacks):
    campaign = with_questionnaire(ready_order(org), org.questionnaire)
    with django_capture_on_commit_callbacks(execute=True):
        interview = interview_done(campaign, "+8613800000001", timezone.now())
        interview_closed.send(sender=None, interview_id=interview.pk)
    assert not Event.objects.exists() and posted == []


def test_subscriptions_through_the_api(caller, integration):
    created = caller.post(
        "/api/v1/subscriptions",
        {"name": "crm", "url": "http://crm.example/", "events": ["interview.completed"]},
    )
    assert created.status_code == 201 and len(created.json()["secret"]) == 64
    listed = caller.get("/api/v1/subscriptions").json()
    assert [s["id"] for s in listed] == [created.json()["id"]]
    assert "secret" not in listed[0]
    bad = caller.post(
        "/api/v1/subscriptions", {"name": "x", "url": "http://x.example/", "events": ["nope"]}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "events.0"
    log = caller.get(f"/api/v1/subscriptions/{created.json()['id']}/deliveries")
    assert log.status_code == 200 and log.json() == []
    assert caller.delete(f"/api/v1/subscriptions/{created.json()['id']}").status_code == 204
    assert caller.get("/api/v1/subscriptions").json() == []


def test_campaign_started_and_finished_events(org, posted, django_capture_on_commit_callbacks):
    from outbound.signals import campaign_state_changed

    campaign = ready_order(org)
    subscription_create(
        name="crm", url="http://crm.example/", events=["campaign.started", "campaign.finished"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        for old, new in (("not_started", "running"), ("running", "paused"), ("paused", "stopped")):
            campaign_state_changed.send(sender=None, campaign_id=campaign.pk, old=old, new=new)
    assert [json.loads(b)["type"] for _u, b, _h in posted] == [
        EventType.CAMPAIGN_STARTED,
        EventType.CAMPAIGN_FINISHED,
    ]
