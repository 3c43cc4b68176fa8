"""The API end to end, over HTTP: a complaint system pushes 500 contacts (200 on SQLite) to
a complaint callback campaign in batches; the campaign runs as a voice survey through the
sandbox with a real Celery worker; a CRM subscribed to "interview completed" and
"dissatisfaction" receives the signed events, checks every signature as any receiver would
(from the scheme the README documents, not with Waihu's own code), and reads the answers
back through the cursor, page by page while the calls go on, with nothing missed and
nothing twice."""

import datetime
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.utils import timezone

from api.models import Delivery, DissatisfiedChoice, Scope
from outbound.dialer import tasks
from outbound.models import CallAttempt, DialState, Interview, WorkOrder
from surveys import services as surveys
from surveys.models import AnswerChoice, QuestionType
from surveys.presets import Preset
from tests.api.conftest import make_integration
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, start

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The shared fixtures, used by name.
org, sandbox, telephony_settings, workers = fx.org, fx.sandbox, fx.telephony_settings, fx.workers

BATCH = 100
# Everybody answers and nobody takes the offer to be called no more, so every contact ends
# in an interview; the respondents key their ratings at random, so some are dissatisfied.
PLAY = {
    "WAIHU_SANDBOX_RING_MIN_SECONDS": "0",
    "WAIHU_SANDBOX_RING_MAX_SECONDS": "0.2",
    "WAIHU_SANDBOX_TALK_MIN_SECONDS": "0",
    "WAIHU_SANDBOX_TALK_MAX_SECONDS": "0.2",
    "WAIHU_SANDBOX_SHARES": "answered=100",
    "WAIHU_SANDBOX_OPT_OUT_PERCENT": "0",
    "WAIHU_DIALER_PLACE_THREADS": "4",
}
TOLERANCE = 300  # seconds: the README's advice for refusing a replayed delivery


def complaint_questionnaire():
    version = surveys.questionnaire_create(name="Complaint callback", language="en", mode="voice")
    surveys.version_update_parts(
        version=version,
        greeting_salutation="Hello {customer_name}.",
        greeting_introduction="This is the customer-service centre about your complaint.",
        transition_purpose="One question: answer with your keypad.",
        transition_duration_minutes=1,
        transition_cost="The call is free of charge.",
        closing_summary="You told us how we handled your complaint.",
        closing_thanks="Thank you.",
        closing_wishes="Goodbye.",
    )
    scale = surveys.question_add(
        version=version,
        type=QuestionType.SCALE,
        preset=Preset.SATISFACTION_5,
        text="How satisfied are you with how we handled your complaint?",
    )
    findings = surveys.version_publish(version=version)
    version.refresh_from_db()
    assert version.is_published, [f.message for f in findings]
    for code in (4, 5):
        DissatisfiedChoice.objects.create(choice=scale.choices.get(code=code))
    return version, scale


class Crm:
    """A receiver of Waihu's events on a port of its own: checks each delivery's signature
    from the documented scheme (HMAC-SHA256 over "<t>.<body>" with the subscription's
    secret, header `Waihu-Signature: t=<t>,v1=<hex>`) and keeps what it got."""

    def __init__(self):
        self.secret = ""
        self.events: list[dict] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                problem = crm.check(body, self.headers)
                with crm.lock:
                    if problem:
                        crm.refused.append(problem)
                    else:
                        crm.events.append(json.loads(body))
                self.send_response(400 if problem else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/waihu"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check(self, body: bytes, headers) -> str:
        try:
            fields = dict(part.split("=", 1) for part in headers["Waihu-Signature"].split(","))
            stamp = int(fields["t"])
        except (AttributeError, KeyError, ValueError):
            return "no signature"
        if abs(time.time() - stamp) > TOLERANCE:
            return "too old"
        mac = hmac.new(self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        if not hmac.compare_digest(mac.hexdigest(), fields.get("v1", "")):
            return "bad signature"
        if json.loads(body)["id"] != headers["Waihu-Event-Id"]:
            return "event id differs"
        return ""

    def of_type(self, type: str) -> list[dict]:
        with self.lock:
            return [event for event in self.events if event["type"] == type]


@pytest.fixture
def crm():
    receiver = Crm()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


class Client:
    """Another system's HTTP client, holding an API token."""

    def __init__(self, base: str, token: str):
        self.base = f"{base}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict, **headers) -> requests.Response:
        return self.session.post(self.base + path, json=body, headers=headers, timeout=60)

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=60)


def read_since(client: Client, campaign_id: int, cursor: str | None) -> tuple[list, str | None]:
    """Every interview since the cursor, page by page, and the cursor to read on from."""
    got = []
    while True:
        params = {"limit": 60, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"/campaigns/{campaign_id}/interviews", **params)
        assert response.status_code == 200, response.text
        page = response.json()
        got += page["interviews"]
        cursor = page["cursor"]
        if not page["more"]:
            return got, cursor


def contacts_count() -> int:
    """500 on PostgreSQL; on SQLite, whose broker polls a table and whose writers take
    turns, one batch of 100 keeps the suite's time bounded (200 took 280 s there)."""
    from django.db import connection

    return 500 if connection.vendor == "postgresql" else 100


def test_complaints_pushed_called_through_the_sandbox_and_read_back_by_the_crm(
    org, sandbox, telephony_settings, workers, crm
):
    count = contacts_count()
    version, scale = complaint_questionnaire()
    order = make_campaign(
        org,
        kind=WorkOrder.Kind.COMPLAINT_CALLBACK,
        max_attempts=1,
        calls_per_second=200.0,
        max_concurrent=200,
    )
    WorkOrder.objects.filter(pk=order.pk).update(questionnaire=version)
    base = sandbox.url.replace("//localhost:", "//127.0.0.1:")
    _integration, token = make_integration(
        org,
        name="complaints",
        scopes=[Scope.CONTACTS, Scope.RESULTS, Scope.SUBSCRIPTIONS, Scope.PHONES],
    )
    client = Client(base, token)

    # The CRM subscribes; the secret is shown once.
    made = client.post(
        "/subscriptions",
        {
            "name": "crm",
            "url": crm.url,
            "events": ["interview.completed", "interview.dissatisfied"],
        },
    )
    assert made.status_code == 201, made.text
    crm.secret = made.json()["secret"]

    # The complaint system pushes the day's answered complaints in batches of 100.
    answered_on = timezone.localdate() - datetime.timedelta(days=1)
    rows = [
        {
            "phone": f"138{n:08d}",
            "name": f"Customer {n}",
            "feedback_at": answered_on.isoformat(),
            "attributes": {"complaint": f"C-{n:05d}"},
        }
        for n in range(count)
    ]
    path = f"/campaigns/{order.pk}/contacts"
    for first in range(0, count, BATCH):
        pushed = client.post(
            path, {"contacts": rows[first : first + BATCH]}, **{"Idempotency-Key": f"d1-{first}"}
        )
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["accepted"] == BATCH and not pushed.json()["replayed"]
    # A batch sent again after a lost answer changes nothing.
    again = client.post(path, {"contacts": rows[:BATCH]}, **{"Idempotency-Key": "d1-0"})
    assert again.json()["replayed"] and again.json()["accepted"] == BATCH
    contacts = order.contacts.all()
    assert contacts.count() == count
    assert set(contacts.values_list("deadline", flat=True)) == {
        answered_on + datetime.timedelta(days=7)
    }

    start(order, org)
    # The sandbox takes calls in this process (the live server) and plays them out in the
    # worker: both see the same play.
    telephony_settings.WAIHU_SANDBOX_PLAY = True
    telephony_settings.WAIHU_SANDBOX_SHARES = {"answered": 100}
    telephony_settings.WAIHU_SANDBOX_OPT_OUT_PERCENT = 0
    telephony_settings.WAIHU_SANDBOX_RING_SECONDS = (0.0, 0.2)
    telephony_settings.WAIHU_SANDBOX_TALK_SECONDS = (0.0, 0.2)
    workers.start(
        "e2e", {"WAIHU_PUBLIC_BASE_URL": telephony_settings.PUBLIC_BASE_URL, **PLAY}, concurrency=8
    )
    began = time.monotonic()
    read, cursor = [], None
    while time.monotonic() < began + 300:
        tasks.dial_due.delay()
        # The CRM reads as it would every so often, while the calls go on.
        got, cursor = read_since(client, order.pk, cursor)
        read += got
        dialled = (
            not DialState.objects.filter(campaign=order)
            .exclude(status__in=DialState.FINAL)
            .exists()
            and not CallAttempt.objects.filter(campaign=order, finished_at=None).exists()
        )
        if dialled and not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists():
            break
        time.sleep(1.0)
    finished = time.monotonic() - began
    print(f"calls and deliveries done in {finished:.1f} s")
    workers.stop()
    # What closed in the last moments is read once it has settled.
    time.sleep(telephony_settings.WAIHU_API_RESULTS_SETTLE_SECONDS + 0.5)
    got, cursor = read_since(client, order.pk, cursor)
    read += got

    completed = Interview.objects.filter(campaign=order, disposition="completed")
    assert completed.count() == count
    assert not crm.refused
    # Nothing missed, nothing twice, in the order they closed.
    ids = [interview["id"] for interview in read]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(completed.values_list("pk", flat=True))
    stamps = [datetime.datetime.fromisoformat(i["closed_at"]) for i in read]
    assert stamps == sorted(stamps)
    # The answers read are those stored, with their codes and labels.
    stored = {
        (interview, question, code, label)
        for interview, question, code, label in AnswerChoice.objects.filter(
            answer__response__interview__campaign=order
        ).values_list(
            "answer__response__interview", "question__code", "choice__code", "choice__label"
        )
    }
    assert {
        (i["id"], a["question"], c["code"], c["label"])
        for i in read
        for a in i["answers"]
        for c in a["choices"]
    } == stored
    by_phone = dict(contacts.values_list("phone", "attributes"))
    assert all(i["contact"]["attributes"] == by_phone[i["contact"]["phone"]] for i in read)

    # One "interview completed" per interview, each verified, whatever was delivered twice.
    done = crm.of_type("interview.completed")
    assert {e["data"]["interview"]["id"] for e in done} == set(ids)
    assert len({e["id"] for e in done}) == count
    unhappy = {
        interview
        for interview, code in AnswerChoice.objects.filter(
            answer__response__interview__campaign=order, question=scale
        ).values_list("answer__response__interview", "choice__code")
        if code in (4, 5)
    }
    assert 0 < len(unhappy) < count
    dissatisfied = crm.of_type("interview.dissatisfied")
    assert {e["data"]["interview"] for e in dissatisfied} == unhappy
    assert len({e["id"] for e in dissatisfied}) == len(unhappy)
    assert Counter(e["data"]["answers"][0]["code"] for e in dissatisfied).keys() <= {4, 5}
    assert all(e["data"]["contact"]["attributes"]["complaint"] for e in dissatisfied)
