"""A status callback naming a parameter Twilio never sends is refused, even with a genuine
signature: Twilio signs the names and values run together, so moving the boundary between
a name and its value keeps the signature valid."""

import pytest
from django.urls import reverse

from outbound import telephony
from outbound.models import CallAttempt, CallEvent
from outbound.webhooks import STATUS_CALLBACK_PARAMS, status_params_unknown
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db

org, telephony_settings = fx.org, fx.telephony_settings
SID = "CA" + "2" * 32


@pytest.fixture
def attempt(org, telephony_settings):
    return open_attempt(make_campaign(org, phones=phones(1)), sid=SID)


def test_a_replayed_signature_with_a_name_twilio_never_sends_is_refused(client, attempt):
    path = reverse("telephony:status", args=[attempt.pk])
    url = "http://testserver" + path
    genuine = {"CallSid": SID, "CallStatus": "completed", "CallDuration": "42"}
    signature = telephony.sign(url, genuine)
    # The same characters, the boundary moved: CallDuration=42 becomes CallDuration4=2.
    replayed = {"CallSid": SID, "CallStatus": "completed", "CallDuration4": "2"}
    assert telephony.signature_is_valid(url, replayed, signature)  # the scheme's weakness

    response = client.post(path, replayed, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 400
    attempt.refresh_from_db()
    assert attempt.status == CallAttempt.Status.QUEUED and attempt.finished_at is None
    assert not CallEvent.objects.filter(attempt=attempt, status="completed").exists()
    # The genuine callback is still accepted.
    ok = client.post(path, genuine, headers={"X-Twilio-Signature": signature})
    assert ok.status_code == 204
    attempt.refresh_from_db()
    assert attempt.finished_at is not None and attempt.duration == 42


def test_every_parameter_twilio_documents_is_accepted(client, attempt):
    path = reverse("telephony:status", args=[attempt.pk])
    params = dict.fromkeys(STATUS_CALLBACK_PARAMS, "x")
    params.update(CallSid=SID, CallStatus="ringing", SequenceNumber="1")
    params.update(AccountSid="AC" + "5a" * 16, RecordingUrl="")
    signature = telephony.sign("http://testserver" + path, params)
    response = client.post(path, params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 204
    attempt.refresh_from_db()
    assert attempt.status == "ringing"


def test_the_names_checked():
    assert status_params_unknown({"CallSid": "CA1", "CalledCity": "Changsha"}) == []
    assert status_params_unknown({"CallSid": "CA1", "callsid": "x", "Digits": "1"}) == [
        "Digits",
        "callsid",
    ]
    for name in ("FromCountry", "ToZip", "CallerState", "CalledCity", "AnsweredBy"):
        assert name in STATUS_CALLBACK_PARAMS
