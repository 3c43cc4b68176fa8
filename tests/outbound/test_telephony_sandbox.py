"""The real Twilio SDK against the sandbox over HTTP: calls are created and fetched in
Twilio's JSON shape, Twilio-shaped errors come back classified, and a played-out call posts
callbacks signed exactly as Twilio signs them."""

import pytest
import requests
from twilio.request_validator import RequestValidator

from outbound import telephony
from outbound.models import SandboxCall
from outbound.sandbox import play
from tests.outbound import test_dialer_fixtures as fx

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
sandbox, telephony_settings = fx.sandbox, fx.telephony_settings


@pytest.fixture(autouse=True)
def _documents_at_x_test(request):
    fx.documents_at_x_test(request)


def _place(to="+8613800000000", **kwargs):
    return telephony.place_call(
        to=to,
        from_="+8673110086",
        twiml_url="http://x.test/twiml",
        status_callback="http://x.test/status",
        **kwargs,
    )


def test_sdk_creates_and_fetches_a_call_in_the_sandbox(sandbox):
    sid = _place(timeout=25, machine_detection=True, record=True)
    call = SandboxCall.objects.get(sid=sid)
    assert sid.startswith("CA") and len(sid) == 34
    assert call.to == "+8613800000000" and call.from_number == "+8673110086"
    assert call.timeout == 25 and call.machine_detection == "Enable" and call.record
    assert call.status_callback_events == ["initiated", "ringing", "answered", "completed"]
    snapshot = telephony.fetch_call(sid)
    assert snapshot.sid == sid and snapshot.status == "queued" and snapshot.duration is None


@pytest.mark.parametrize(
    ("to", "error", "code"),
    [
        ("+15005550001", telephony.InvalidNumber, 21211),
        ("+15005550002", telephony.InvalidNumber, 21214),
        ("+15005550005", telephony.InvalidNumber, 21217),
        ("+15005550003", telephony.AccountRefusal, 21215),
        ("+15005550004", telephony.AccountRefusal, 21216),
        ("+15005550011", telephony.AccountRefusal, 20003),
        ("+15005550012", telephony.AccountRefusal, 20403),
        ("+15005550009", telephony.TransientError, 20429),
        ("+15005550010", telephony.TransientError, 20500),
        ("12345", telephony.InvalidNumber, 21211),
    ],
)
def test_twilio_errors_are_classified(sandbox, to, error, code):
    with pytest.raises(error) as raised:
        _place(to=to)
    assert raised.value.code == code


def test_unknown_call_is_a_twilio_404(sandbox):
    with pytest.raises(telephony.CallRejected) as raised:
        telephony.fetch_call("CA" + "0" * 32)
    assert raised.value.code == 20404 and raised.value.status == 404


def test_wrong_credentials_are_refused(sandbox):
    url = f"{sandbox.url}/sandbox/2010-04-01/Accounts/{telephony.account_sid()}/Calls.json"
    response = requests.post(url, data={"To": "+8613800000000"}, auth=("AC1", "x"), timeout=5)
    assert response.status_code == 401 and response.json()["code"] == 20003


def test_network_failure_is_transient(telephony_settings):
    telephony_settings.WAIHU_SANDBOX_API_URL = "http://127.0.0.1:9"
    with pytest.raises(telephony.TransientError):
        _place()


def test_sandbox_refuses_when_twilio_credentials_are_set(sandbox, telephony_settings):
    telephony_settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    telephony_settings.TWILIO_AUTH_TOKEN = "secret"
    url = f"{sandbox.url}/sandbox/2010-04-01/Accounts/AC{'5a' * 16}/Calls.json"
    assert requests.post(url, data={}, timeout=5).status_code == 404
    call = SandboxCall(sid="CA1", plan="answered", status="queued")
    with pytest.raises(RuntimeError):
        play.dial(call)


def test_played_out_call_posts_callbacks_signed_like_twilio(sandbox, monkeypatch):
    posted = []

    class Answer:
        status_code = 200

        def __init__(self, content=b"<Response/>"):
            self.content = content

    documents = iter(
        [
            b'<Response><Gather numDigits="1" action="http://x.test/a" hints="4,5">'
            b"<Say>Press 4 or 5</Say></Gather></Response>",
            b"<Response><Redirect>http://x.test/b</Redirect></Response>",
            b"<Response><Say>Bye</Say><Hangup/></Response>",
        ]
    )

    def fake_post(url, data, headers, timeout):
        posted.append((url, dict(data), headers["X-Twilio-Signature"]))
        if url.endswith("/status"):
            return Answer()
        return Answer(next(documents))

    monkeypatch.setattr(play._session, "post", fake_post)
    sid = telephony.place_call(
        to="+15005550100",
        from_="+8673110086",
        twiml_url="http://x.test/twiml",
        status_callback="http://x.test/status",
        machine_detection=True,
        record=True,
    )
    call = SandboxCall.objects.get(sid=sid)
    play.dial(call)
    play.connect(call)
    play.finish(call)

    validator = RequestValidator(telephony.auth_token())
    for url, params, signature in posted:
        assert validator.validate(url, params, signature), url
    statuses = [params["CallStatus"] for url, params, _sig in posted if url.endswith("/status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    sequence = [params["SequenceNumber"] for url, params, _s in posted if url.endswith("/status")]
    assert sequence == ["0", "1", "2", "3"]
    fetched = [url for url, _p, _s in posted if not url.endswith("/status")]
    assert fetched == ["http://x.test/twiml", "http://x.test/a", "http://x.test/b"]
    digits = [params.get("Digits") for url, params, _s in posted if url == "http://x.test/a"]
    assert digits[0] in ("4", "5")
    completed = posted[-1][1]
    assert completed["AnsweredBy"] == "human" and "RecordingUrl" in completed
    call.refresh_from_db()
    assert call.status == "completed" and call.digits == digits[0]
    assert telephony.fetch_call(sid).status == "completed"


@pytest.mark.parametrize(
    ("to", "final"),
    [("+15005550101", "busy"), ("+15005550102", "no-answer"), ("+15005550103", "failed")],
)
def test_unanswered_outcomes_end_with_their_status(sandbox, monkeypatch, to, final):
    posted = []

    class Answer:
        status_code = 204
        content = b""

    monkeypatch.setattr(
        play._session, "post", lambda url, data, headers, timeout: posted.append(data) or Answer()
    )
    sid = _place(to=to)
    call = SandboxCall.objects.get(sid=sid)
    play.dial(call)
    assert play.connect(call) is None
    assert posted[-1]["CallStatus"] == final
    assert telephony.fetch_call(sid).status == final


class _Recorder:
    """Stands in for the network under the sandbox's HTTP session: records each request
    and answers a TwiML fetch with `document`, a status callback with 204."""

    class Answer:
        def __init__(self, status_code, content=b""):
            self.status_code = status_code
            self.content = content

    def __init__(self, document=b"<Response><Hangup/></Response>"):
        self.posted = []
        self.document = document

    def post(self, url, data, headers, timeout):
        self.posted.append((url, dict(data), headers["X-Twilio-Signature"]))
        if url.endswith("/status"):
            return self.Answer(204)
        return self.Answer(200, self.document)

    def to(self, suffix):
        return [params for url, params, _sig in self.posted if url.endswith(suffix)]


@pytest.mark.parametrize(
    ("to", "options", "answered_by"),
    [
        ("+15005550100", {"machine_detection": True}, "human"),
        ("+15005550104", {"machine_detection": True}, "machine_start"),
        (
            "+15005550104",
            {"machine_detection": True, "detect_message_end": True},
            "machine_end_beep",
        ),
        ("+15005550100", {"detect_message_end": True}, None),
        ("+15005550104", {}, None),
    ],
)
def test_the_twiml_request_carries_the_detection_result(
    sandbox, monkeypatch, to, options, answered_by
):
    recorder = _Recorder()
    monkeypatch.setattr(play._session, "post", recorder.post)
    sid = telephony.place_call(
        to=to,
        from_="+8673110086",
        twiml_url="http://x.test/twiml",
        status_callback="http://x.test/status",
        **options,
    )
    call = SandboxCall.objects.get(sid=sid)
    play.dial(call)
    play.connect(call)
    play.finish(call)

    # Every answered call fetches its TwiML, a machine's too.
    (fetched,) = recorder.to("/twiml")
    statuses = {params["CallStatus"]: params for params in recorder.to("/status")}
    if answered_by is None:
        assert "AnsweredBy" not in fetched and "AnsweredBy" not in statuses["completed"]
        return
    assert fetched["AnsweredBy"] == answered_by
    assert fetched["MachineDetectionDuration"].isdigit()
    # Detection ends after the answer is reported; the final callback carries its result.
    assert "AnsweredBy" not in statuses["in-progress"]
    assert statuses["completed"]["AnsweredBy"] == answered_by
    validator = RequestValidator(telephony.auth_token())
    assert all(validator.validate(url, params, sig) for url, params, sig in recorder.posted)


def test_a_machine_keys_nothing_at_a_gather(sandbox, monkeypatch):
    recorder = _Recorder(
        b'<Response><Gather numDigits="1" action="http://x.test/a" hints="1,2">'
        b"<Say>Press 1 or 2</Say></Gather><Redirect>http://x.test/b</Redirect></Response>"
    )
    monkeypatch.setattr(play._session, "post", recorder.post)
    sid = _place(to="+15005550104")
    call = SandboxCall.objects.get(sid=sid)
    play.dial(call)
    play.connect(call)
    # The <Gather> times out and the call runs on to the <Redirect>, with no key pressed.
    fetched = [url for url, _p, _s in recorder.posted if not url.endswith("/status")]
    assert fetched[:2] == ["http://x.test/twiml", "http://x.test/b"]
    assert "http://x.test/a" not in fetched
    assert SandboxCall.objects.get(sid=sid).digits == ""


def test_sequence_numbers_count_the_callbacks_sent(sandbox, monkeypatch):
    recorder = _Recorder()
    monkeypatch.setattr(play._session, "post", recorder.post)
    sid = _place(to="+15005550103")
    call = SandboxCall.objects.get(sid=sid)
    play.dial(call)
    play.connect(call)
    # A failed call never rings: its second callback is number 1.
    sent = [(p["CallStatus"], p["SequenceNumber"]) for p in recorder.to("/status")]
    assert sent == [("initiated", "0"), ("failed", "1")]
