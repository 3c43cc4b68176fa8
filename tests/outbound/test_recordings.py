"""Call recordings: the carrier's recording status callbacks are kept only when they name
our account, the attempt's own call and the carrier's own address; the sandbox posts them
as Twilio does and serves the audio only with the account's credentials; the audio is
streamed to those who may hear it and to nobody else, and the Listen player shows for them
alone."""

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from outbound import telephony
from outbound.agent import services as agent_services
from outbound.dialer import services as dialer_services
from outbound.models import CallAttempt, CallEvent, DialState, Interview, Recording, SandboxCall
from outbound.recordings.services import recording_status_url
from outbound.sandbox import play
from outbound.voice.services import agent_bridge_twiml
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign, parse_twiml, second_agent
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones, signed_post

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, sandbox, telephony_settings, carrier = fx.org, fx.sandbox, fx.telephony_settings, fx.carrier

CALL = "CA" + "1" * 32
RECORDING = "RE" + "1" * 32
OTHER_ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def attempt(org, telephony_settings):
    order = make_campaign(org, phones=phones(1), record=True)
    return open_attempt(order, sid=CALL)


def _params(call_sid: str = CALL, sid: str = RECORDING, **changes) -> dict:
    params = {
        "AccountSid": telephony.account_sid(),
        "CallSid": call_sid,
        "RecordingSid": sid,
        "RecordingUrl": telephony.recording_url(sid),
        "RecordingStatus": "completed",
        "RecordingDuration": "17",
        "RecordingChannels": "1",
        "RecordingSource": "OutboundAPI",
        "RecordingStartTime": "Mon, 05 May 2025 08:00:00 +0000",
        "RecordingTrack": "both",
    }
    params.update(changes)
    return {name: value for name, value in params.items() if value is not None}


def _callback(client, attempt_id: int, params: dict, *, base: str = "http://testserver"):
    path = reverse("recordings:callback", args=[attempt_id])
    return signed_post(client, path, params, base=base)


def _recording(attempt: CallAttempt, *, sid: str = RECORDING, agent=None, status="completed"):
    return Recording.objects.create(
        attempt=attempt,
        sid=sid,
        account_sid=telephony.account_sid(),
        call_sid=attempt.call_sid,
        agent=agent,
        status=status,
        duration=1,
    )


def _next_attempt(attempt: CallAttempt, *, sid: str) -> CallAttempt:
    """The attempt finished, and the same contact called again."""
    CallAttempt.objects.filter(pk=attempt.pk).update(finished_at=timezone.now(), outcome="busy")
    return open_attempt(attempt.campaign, attempt.contact, sid=sid)


# --- the callback ------------------------------------------------------------------------


def test_a_genuine_recording_callback_is_kept_without_its_address(client, attempt):
    response = _callback(client, attempt.pk, _params())
    assert response.status_code == 204
    recording = Recording.objects.get()
    assert (recording.attempt, recording.sid, recording.call_sid) == (attempt, RECORDING, CALL)
    assert recording.status == "completed" and recording.duration == 17
    assert recording.channels == 1 and recording.source == "OutboundAPI"
    assert recording.started_at.isoformat() == "2025-05-05T08:00:00+00:00"
    assert recording.account_sid == telephony.account_sid()
    assert not hasattr(recording, "url") and not hasattr(recording, "recording_url")


EVIL = "https://evil.example/2010-04-01/Accounts/x/Recordings/" + RECORDING
THEIRS = f"https://api.twilio.com/2010-04-01/Accounts/{OTHER_ACCOUNT}/Recordings/{RECORDING}"


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"RecordingUrl": "javascript:alert(document.cookie)"}, 403),
        ({"RecordingUrl": EVIL}, 403),
        ({"RecordingUrl": THEIRS}, 403),
        ({"CallSid": "CA" + "9" * 32}, 403),
        ({"CallSid": ""}, 403),
        ({"AccountSid": OTHER_ACCOUNT}, 403),
        ({"RecordingSid": "javascript:alert(1)"}, 400),
        ({"RecordingSid": "RE1"}, 400),
        ({"RecordingStatus": "deleted"}, 400),
        # No address at all is fine: the audio is fetched by SID anyway.
        ({"RecordingUrl": None}, 204),
    ],
)
def test_forged_callbacks_are_refused_and_nothing_is_kept(client, attempt, changes, status):
    response = _callback(client, attempt.pk, _params(**changes))
    assert response.status_code == status
    assert Recording.objects.exists() == (status == 204)


def test_an_address_for_another_recording_is_refused(client, attempt):
    params = _params(RecordingUrl=telephony.recording_url("RE" + "2" * 32))
    assert _callback(client, attempt.pk, params).status_code == 403
    assert not Recording.objects.exists()


def test_unsigned_callbacks_and_unknown_attempts(client, attempt):
    path = reverse("recordings:callback", args=[attempt.pk])
    assert client.post(path, _params()).status_code == 403
    assert client.post(path, _params(), headers={"X-Twilio-Signature": "AAAA"}).status_code == 403
    assert _callback(client, attempt.pk + 1000, _params()).status_code == 404
    assert not Recording.objects.exists()


def test_a_dial_recording_names_the_agents_leg(client, org, carrier, telephony_settings):
    order = agent_campaign(org, phones=phones(1), record=True)
    interview = agent_services.contact_reserve(campaign=order, agent=org.agent)
    agent_services.interview_dial(interview=interview, agent=org.agent)
    interview.refresh_from_db()
    attempt = interview.attempt
    assert interview.agent_call_sid and interview.agent_call_sid != attempt.call_sid
    # Twilio names the parent leg of a two-leg call: here the agent's own phone.
    response = _callback(client, attempt.pk, _params(call_sid=interview.agent_call_sid))
    assert response.status_code == 204
    recording = Recording.objects.get()
    assert recording.call_sid == interview.agent_call_sid and recording.agent == org.agent


def test_a_status_moves_forward_only_and_a_repeat_changes_nothing(client, attempt):
    assert _callback(client, attempt.pk, _params()).status_code == 204
    late = _params(RecordingStatus="in-progress", RecordingDuration=None)
    assert _callback(client, attempt.pk, late).status_code == 204
    assert _callback(client, attempt.pk, _params()).status_code == 204
    recording = Recording.objects.get()
    assert recording.status == "completed" and recording.duration == 17


def test_a_recording_of_one_attempt_is_not_moved_to_another(client, org, attempt):
    _callback(client, attempt.pk, _params())
    other = _next_attempt(attempt, sid="CA" + "2" * 32)
    response = _callback(client, other.pk, _params(call_sid=other.call_sid))
    assert response.status_code == 403
    assert Recording.objects.get().attempt == attempt


def test_a_status_callback_keeps_the_carriers_address_only(client, attempt, org):
    path = reverse("telephony:status", args=[attempt.pk])
    forged = {
        "CallSid": CALL,
        "AccountSid": telephony.account_sid(),
        "CallStatus": "completed",
        "CallDuration": "9",
        "RecordingSid": RECORDING,
        "RecordingUrl": "javascript:alert(document.cookie)",
    }
    assert signed_post(client, path, forged).status_code == 204
    attempt.refresh_from_db()
    assert attempt.finished_at is not None and attempt.recording_url == ""
    assert "RecordingUrl" not in CallEvent.objects.get(attempt=attempt, status="completed").details
    client.force_login(org.outbound_admin)
    page = client.get(reverse("campaigns:detail", args=[attempt.campaign_id]))
    assert b"javascript:" not in page.content


# --- what is asked of the carrier --------------------------------------------------------


def test_the_agents_dial_asks_for_recording_callbacks(org, carrier, telephony_settings):
    order = agent_campaign(org, phones=phones(1), record=True)
    interview = agent_services.contact_reserve(campaign=order, agent=org.agent)
    agent_services.interview_dial(interview=interview, agent=org.agent)
    interview.refresh_from_db()
    dial = parse_twiml(agent_bridge_twiml(attempt=interview.attempt)).find("Dial")
    assert dial.get("record") == "record-from-answer"
    assert dial.get("recordingStatusCallback") == recording_status_url(interview.attempt_id)
    assert dial.get("recordingStatusCallbackEvent") == "completed absent"
    assert dial.get("recordingStatusCallbackMethod") == "POST"


def test_carrier_addresses_are_built_from_the_account_and_the_sid(telephony_settings):
    telephony_settings.TWILIO_ACCOUNT_SID = "AC" + "7" * 32
    telephony_settings.TWILIO_AUTH_TOKEN = "secret"
    assert telephony.recording_url(RECORDING) == (
        f"https://api.twilio.com/2010-04-01/Accounts/{'AC' + '7' * 32}/Recordings/{RECORDING}"
    )
    with pytest.raises(ValueError):
        telephony.recording_media("../Calls", "mp3")
    with pytest.raises(ValueError):
        telephony.recording_media(RECORDING, "json")


# --- the sandbox, over HTTP ------------------------------------------------------------------


def place_recorded_call(org, to: str = "+15005550100") -> tuple[CallAttempt, SandboxCall]:
    """A recorded call placed by the dialer through the real SDK and played out."""
    order = make_campaign(org, phones=[to], record=True)
    fx.start(order, org)
    contact = order.contacts.get()
    DialState.objects.filter(pk=contact.pk).update(status=DialState.Status.DIALING, attempts=1)
    attempt = CallAttempt.objects.create(
        campaign=order, contact=contact, number=1, to=to, caller_id="+8673110086"
    )
    assert dialer_services.calls_place(attempt_ids=[attempt.pk])["placed"] == [attempt.pk]
    attempt.refresh_from_db()
    call = SandboxCall.objects.get(sid=attempt.call_sid)
    play.dial(call)
    play.connect(call)
    play.finish(call)
    attempt.refresh_from_db()
    return attempt, call


def _media_url(sid: str, extension: str = "") -> str:
    return telephony.recording_url(sid) + extension


@pytest.mark.django_db(transaction=True)
def test_a_recorded_sandbox_call_posts_its_recording_callback(org, sandbox):
    attempt, call = place_recorded_call(org)
    assert call.recording_status_callback == recording_status_url(attempt.pk)
    assert call.recording_status_callback_events == ["completed", "absent"]
    recording = Recording.objects.get()
    assert recording.attempt == attempt and recording.sid == "RE" + call.sid[2:]
    assert recording.call_sid == call.sid and recording.status == "completed"
    assert recording.duration >= 1 and recording.source == "OutboundAPI"
    # The status callback carried the carrier's address too, and it was kept.
    assert attempt.recording_url == telephony.recording_url(recording.sid)


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_serves_recordings_only_with_the_accounts_credentials(org, sandbox):
    _attempt, call = place_recorded_call(org)
    sid = "RE" + call.sid[2:]
    credentials = (telephony.account_sid(), telephony.sandbox_auth_token())
    refused = requests.get(_media_url(sid), timeout=5)
    assert refused.status_code == 401 and refused.json()["code"] == 20003
    wrong = requests.get(_media_url(sid, ".mp3"), auth=(credentials[0], "guess"), timeout=5)
    assert wrong.status_code == 401
    wav = requests.get(_media_url(sid), auth=credentials, timeout=5)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    assert wav.headers["Content-Type"] == "audio/x-wav"
    assert requests.get(_media_url(sid, ".wav"), auth=credentials, timeout=5).content == wav.content
    mp3 = requests.get(_media_url(sid, ".mp3"), auth=credentials, timeout=5)
    assert mp3.status_code == 200 and mp3.headers["Content-Type"] == "audio/mpeg"
    assert mp3.content[:2] == b"\xff\xfb" and len(mp3.content) == 28 * 144
    part = requests.get(
        _media_url(sid, ".mp3"), auth=credentials, headers={"Range": "bytes=144-287"}, timeout=5
    )
    assert part.status_code == 206 and part.content == mp3.content[144:288]
    assert part.headers["Content-Range"] == f"bytes 144-287/{len(mp3.content)}"
    unknown = requests.get(_media_url("RE" + "0" * 32), auth=credentials, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["code"] == 20404


# --- streaming to those who may hear it ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_audio_is_streamed_to_those_who_may_hear_it(client, org, sandbox):
    place_recorded_call(org)
    recording = Recording.objects.get()
    other_agent = second_agent(org)
    wav = reverse("recordings:audio", kwargs={"sid": recording.sid, "format": "wav"})
    mp3 = reverse("recordings:audio", kwargs={"sid": recording.sid, "format": "mp3"})
    for user in (org.outbound_admin, org.analyst):
        client.force_login(user)
        response = client.get(wav)
        assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
        assert b"".join(response.streaming_content)[:4] == b"RIFF"
    response = client.get(mp3, headers={"Range": "bytes=0-143"})
    assert response.status_code == 206 and response["Content-Type"] == "audio/mpeg"
    assert response["Content-Range"] == "bytes 0-143/4032"
    assert len(b"".join(response.streaming_content)) == 144
    # The requester of the order, an agent who did not make the call, someone with no role.
    for user in (org.requester, org.agent, other_agent, org.nobody):
        client.force_login(user)
        assert client.get(wav).status_code == 404, user
    client.logout()
    assert client.get(wav).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_agent_who_made_the_call_hears_it(client, org, sandbox):
    place_recorded_call(org)
    Recording.objects.update(agent=org.agent)
    client.force_login(org.agent)
    url = reverse("recordings:audio", kwargs={"sid": Recording.objects.get().sid, "format": "wav"})
    assert client.get(url).status_code == 200


def test_a_recording_not_ready_is_not_streamed(client, org, attempt):
    recording = _recording(attempt, status="in-progress")
    client.force_login(org.outbound_admin)
    url = reverse("recordings:audio", kwargs={"sid": recording.sid, "format": "mp3"})
    assert client.get(url).status_code == 404


# --- the Listen player ------------------------------------------------------------------------


def test_the_player_shows_on_the_campaign_page_for_those_who_may_hear(client, org, attempt):
    mine = _recording(attempt, agent=org.agent)
    theirs_attempt = _next_attempt(attempt, sid="CA" + "2" * 32)
    theirs = _recording(theirs_attempt, sid="RE" + "2" * 32, agent=second_agent(org))
    page = reverse("campaigns:detail", args=[attempt.campaign_id])

    def players(user) -> set[str]:
        client.force_login(user)
        content = client.get(page).content.decode()
        return {sid for sid in (mine.sid, theirs.sid) if f'data-recording="{sid}"' in content}

    assert players(org.outbound_admin) == {mine.sid, theirs.sid}
    assert players(org.agent) == {mine.sid}  # on the order's team, made one of the calls
    assert players(org.requester) == set()  # sees the campaign, hears no customer
    client.force_login(org.outbound_admin)
    content = client.get(page).content.decode()
    audio = reverse("recordings:audio", kwargs={"sid": mine.sid, "format": "mp3"})
    assert f'<source src="{audio}" type="audio/mpeg">' in content
    assert 'preload="none"' in content


def test_the_player_shows_in_the_agents_call_history(client, org, carrier, telephony_settings):
    order = agent_campaign(org, phones=phones(1), record=True)
    interview = agent_services.contact_reserve(campaign=order, agent=org.agent)
    agent_services.interview_dial(interview=interview, agent=org.agent)
    interview.refresh_from_db()
    _callback(client, interview.attempt_id, _params(call_sid=interview.agent_call_sid))
    # Another call to the same contact, made by another agent.
    other = _next_attempt(interview.attempt, sid="CA" + "3" * 32)
    _recording(other, sid="RE" + "3" * 32, agent=second_agent(org))
    client.force_login(org.agent)
    content = client.get(reverse("agent:interview", args=[interview.pk])).content.decode()
    mine = Recording.objects.get(attempt=interview.attempt)
    assert f'data-recording="{mine.sid}"' in content
    assert 'data-recording="RE' + "3" * 32 + '"' not in content
    assert Interview.objects.get(pk=interview.pk).agent == org.agent
