"""Twilio's two ways of signing a webhook: with the auth token (HMAC-SHA1, the default),
and, where a Webhooks Rule matches, with a SharedKey (HMAC-SHA256, announced by the
X-Twilio-Webhooks-Signature-Settings header). The second is accepted only with the key
configured in TWILIO_WEBHOOK_SHARED_KEY."""

import logging

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from outbound import telephony
from outbound.models import CallAttempt
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings = fx.org, fx.telephony_settings
SHARED_KEY = "webhook-shared-key-secret"
SETTINGS_HEADER = "key=webhooks_sharedkey_01hx0000000000000000000000,algorithm=HMAC_SHA256"


@pytest.fixture
def attempt(org, telephony_settings):
    telephony_settings.TWILIO_WEBHOOK_SHARED_KEY = SHARED_KEY
    return open_attempt(make_campaign(org, phones=phones(1)))


def _post(client, attempt, params, *, signature: str, signature_settings: str | None):
    headers = {"X-Twilio-Signature": signature}
    if signature_settings is not None:
        headers["X-Twilio-Webhooks-Signature-Settings"] = signature_settings
    return client.post(reverse("telephony:status", args=[attempt.pk]), params, headers=headers)


def _url(attempt) -> str:
    return "http://testserver" + reverse("telephony:status", args=[attempt.pk])


def _shared_key_signature(url: str, params: dict, key: str = SHARED_KEY) -> str:
    return RequestValidator(key).compute_signature(url, params, "HMAC_SHA256")


def test_a_callback_signed_with_the_shared_key_is_accepted(client, attempt):
    params = {"CallSid": attempt.call_sid, "CallStatus": "ringing"}
    signature = _shared_key_signature(_url(attempt), params)
    response = _post(
        client, attempt, params, signature=signature, signature_settings=SETTINGS_HEADER
    )
    assert response.status_code == 204
    assert CallAttempt.objects.get().status == "ringing"


def test_a_tampered_callback_is_refused(client, attempt):
    params = {"CallSid": attempt.call_sid, "CallStatus": "ringing"}
    signature = _shared_key_signature(_url(attempt), params)
    tampered = {**params, "CallStatus": "busy"}
    response = _post(
        client, attempt, tampered, signature=signature, signature_settings=SETTINGS_HEADER
    )
    assert response.status_code == 403
    # Signed with another key, or the auth token's signature under the shared-key header.
    other = _shared_key_signature(_url(attempt), params, key="another-key")
    assert (
        _post(client, attempt, params, signature=other, signature_settings=SETTINGS_HEADER)
    ).status_code == 403
    legacy = telephony.sign(_url(attempt), params)
    assert (
        _post(client, attempt, params, signature=legacy, signature_settings=SETTINGS_HEADER)
    ).status_code == 403
    assert CallAttempt.objects.get().status == "queued"


def test_the_header_without_a_configured_key_is_refused_and_logged(
    client, attempt, telephony_settings, caplog
):
    telephony_settings.TWILIO_WEBHOOK_SHARED_KEY = ""
    params = {"CallSid": attempt.call_sid, "CallStatus": "ringing"}
    signature = _shared_key_signature(_url(attempt), params)
    with caplog.at_level(logging.WARNING, logger="outbound.telephony"):
        response = _post(
            client, attempt, params, signature=signature, signature_settings=SETTINGS_HEADER
        )
    assert response.status_code == 403
    assert "TWILIO_WEBHOOK_SHARED_KEY is not set" in caplog.text
    assert CallAttempt.objects.get().status == "queued"


def test_the_auth_token_signature_still_works_with_a_key_set(client, attempt):
    params = {"CallSid": attempt.call_sid, "CallStatus": "ringing"}
    signature = telephony.sign(_url(attempt), params)
    response = _post(client, attempt, params, signature=signature, signature_settings=None)
    assert response.status_code == 204
    assert CallAttempt.objects.get().status == "ringing"


def test_an_unknown_algorithm_is_refused(client, attempt):
    params = {"CallSid": attempt.call_sid, "CallStatus": "ringing"}
    signature = _shared_key_signature(_url(attempt), params)
    header = SETTINGS_HEADER.replace("HMAC_SHA256", "HMAC_SHA512")
    response = _post(client, attempt, params, signature=signature, signature_settings=header)
    assert response.status_code == 403


def test_the_calls_twiml_takes_either_signature(client, attempt):
    path = reverse("telephony:twiml", args=[attempt.pk])
    params = {"CallSid": attempt.call_sid}
    signature = _shared_key_signature("http://testserver" + path, params)
    response = client.post(
        path,
        params,
        headers={
            "X-Twilio-Signature": signature,
            "X-Twilio-Webhooks-Signature-Settings": SETTINGS_HEADER,
        },
    )
    assert response.status_code == 200 and b"<Response>" in response.content
