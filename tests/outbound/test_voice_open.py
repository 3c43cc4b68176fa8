"""Open questions on the automated voice survey are answered aloud: recorded by <Record>
(the audio kept with the interview, the answer's text empty) or recognised by <Gather
input="speech"> (the answer's text the transcript), asked once more when nothing is heard.
The sandbox answers both the way Twilio does."""

import base64

import pytest
from django.urls import reverse
from django.utils import timezone

from outbound import telephony
from outbound.models import Interview, SandboxCall, SpokenAnswer
from outbound.sandbox import play
from surveys.engine import AnswerValue
from surveys.models import Language, Question, ResponseStatus
from surveys.services import response_answers
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import parse_twiml
from tests.outbound.test_dialer_fixtures import open_attempt, phones, signed_post
from tests.outbound.test_voice_fixtures import open_questionnaire, press, start_call, voice_campaign

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings = fx.org, fx.telephony_settings

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "a" * 32


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    telephony_settings.WAIHU_SANDBOX_OPT_OUT_PERCENT = 0
    return telephony_settings


def _campaign(org, **kwargs):
    version = open_questionnaire(**kwargs)
    return open_attempt(voice_campaign(org, phones=phones(1), version=version))


def _question(attempt, position: int) -> Question:
    return Question.objects.get(version_id=attempt.campaign.questionnaire_id, position=position)


def _first_answer(client, attempt):
    """Starts the call and answers the yes/no question: the open question's document."""
    root = parse_twiml(start_call(client, attempt).content)
    action = next(g for g in root.findall("Gather") if "/questions/" in g.get("action"))
    return parse_twiml(press(client, action.get("action"), "1").content)


def _post(client, url: str, params: dict):
    return signed_post(client, url.removeprefix("http://testserver"), params)


def _said(root) -> list[str]:
    return ["".join(say.itertext()) for say in root.iter("Say")]


def _answers(attempt) -> dict:
    return response_answers(response=Interview.objects.get(attempt=attempt).response)


def test_an_open_question_is_recorded_after_the_beep(client, org, settings):
    settings.WAIHU_VOICE_OPEN_ANSWER_SECONDS = 90
    attempt = _campaign(org)
    root = _first_answer(client, attempt)
    interview = Interview.objects.get()
    question = _question(attempt, 2)
    assert [verb.tag for verb in root] == ["Say", "Say", "Record", "Redirect"]
    assert _said(root) == [
        "What should we do better?",
        "Please give your answer after the beep, then press the hash key.",
    ]
    record = root.find("Record")
    action = "http://testserver" + reverse("voice:gather", args=[interview.pk, question.pk])
    assert record.get("action") == action + "?try=1" and record.get("method") == "POST"
    assert record.get("maxLength") == "90" and record.get("playBeep") == "true"
    assert record.get("finishOnKey") == "#" and record.get("timeout") == "5"
    assert record.get("recordingStatusCallback") == "http://testserver" + reverse(
        "voice:recording_status", args=[interview.pk, question.pk]
    )
    assert record.get("recordingStatusCallbackEvent") == "completed"
    assert root.find("Redirect").text == record.get("action")

    params = {"RecordingUrl": RECORDING, "RecordingSid": "RE" + "a" * 32}
    root = parse_twiml(
        _post(
            client, record.get("action"), {**params, "RecordingDuration": "14", "Digits": "#"}
        ).content
    )
    assert "May we call you again?" in _said(root)
    spoken = SpokenAnswer.objects.get()
    assert (spoken.interview, spoken.question) == (interview, question)
    assert spoken.source == SpokenAnswer.Source.RECORDING
    assert (spoken.recording_sid, spoken.recording_url) == ("RE" + "a" * 32, RECORDING)
    assert spoken.recording_duration == 14 and spoken.finished_by == "#"
    assert spoken.transcript == "" and spoken.recording_status == ""
    # The answer's text is empty: the words are in the recording.
    assert _answers(attempt)["Q2"] == AnswerValue.missing()

    status = reverse("voice:recording_status", args=[interview.pk, question.pk])
    response = signed_post(
        client, status, {**params, "RecordingStatus": "completed", "RecordingDuration": "15"}
    )
    assert response.status_code == 204
    spoken.refresh_from_db()
    assert spoken.recording_status == "completed" and spoken.recording_duration == 15
    assert SpokenAnswer.objects.count() == 1


def test_the_recording_status_may_come_before_the_action(client, org):
    attempt = _campaign(org)
    record = _first_answer(client, attempt).find("Record")
    params = {"RecordingUrl": RECORDING, "RecordingDuration": "7"}
    assert (
        _post(
            client,
            record.get("recordingStatusCallback"),
            {**params, "RecordingStatus": "completed"},
        ).status_code
        == 204
    )
    # Without a RecordingSid the recording is named by its address.
    _post(client, record.get("action"), {**params, "Digits": "#"})
    spoken = SpokenAnswer.objects.get()
    assert spoken.recording_status == "completed" and spoken.recording_sid == "RE" + "a" * 32
    assert spoken.finished_by == "#" and spoken.recording_duration == 7


def test_a_recording_status_for_another_question_is_refused(client, org):
    attempt = _campaign(org)
    _first_answer(client, attempt)
    interview = Interview.objects.get()
    keypad = _question(attempt, 1)
    url = reverse("voice:recording_status", args=[interview.pk, keypad.pk])
    assert signed_post(client, url, {"RecordingUrl": RECORDING}).status_code == 404
    assert client.post(url, {"RecordingUrl": RECORDING}).status_code == 403
    assert not SpokenAnswer.objects.exists()


def test_silence_is_asked_once_more_then_left_unanswered(client, org):
    attempt = _campaign(org)
    record = _first_answer(client, attempt).find("Record")
    root = parse_twiml(_post(client, record.get("action"), {}).content)
    assert _said(root)[0] == "Sorry, we did not hear your answer."
    again = root.find("Record")
    assert again.get("action").endswith("?try=2")
    root = parse_twiml(_post(client, again.get("action"), {}).content)
    assert "May we call you again?" in _said(root)
    assert _answers(attempt)["Q2"].is_missing and not SpokenAnswer.objects.exists()


def test_the_star_key_ends_the_recording_as_dont_know(client, org):
    attempt = _campaign(org, allow_dont_know=True)
    root = _first_answer(client, attempt)
    record = root.find("Record")
    assert record.get("finishOnKey") == "#*"
    assert _said(root)[-1] == "If you don't know, press the star key."
    _post(client, record.get("action"), {"RecordingUrl": RECORDING, "Digits": "*"})
    assert _answers(attempt)["Q2"] == AnswerValue.dont_know()


def test_hanging_up_while_recording_keeps_the_recording(client, org):
    attempt = _campaign(org)
    record = _first_answer(client, attempt).find("Record")
    params = {"RecordingUrl": RECORDING, "RecordingDuration": "3", "Digits": "hangup"}
    root = parse_twiml(_post(client, record.get("action"), params).content)
    assert [verb.tag for verb in root] == ["Hangup"]
    assert SpokenAnswer.objects.get().finished_by == "hangup"
    assert _answers(attempt)["Q2"].is_missing


def test_speech_recognition_gives_the_answer_its_text(client, org, settings):
    settings.WAIHU_VOICE_OPEN_ANSWER_INPUT = "speech"
    attempt = _campaign(org, language=Language.ZH_HANS)
    root = _first_answer(client, attempt)
    [gather] = root.findall("Gather")
    assert gather.get("input") == "speech" and gather.get("language") == "cmn-Hans-CN"
    assert gather.get("speechTimeout") == "auto" and gather.get("numDigits") is None
    # The question, then the prompt to speak (in the questionnaire's language).
    assert len(_said(gather)) == 2 and _said(gather)[0] == "您希望我们改进哪些方面？"
    root = parse_twiml(
        _post(
            client, gather.get("action"), {"SpeechResult": "信号再好一点", "Confidence": "0.91"}
        ).content
    )
    assert "我们可以再联系您吗？" in _said(root)
    assert _answers(attempt)["Q2"] == AnswerValue.of_text("信号再好一点")
    spoken = SpokenAnswer.objects.get()
    assert spoken.source == SpokenAnswer.Source.SPEECH
    assert spoken.transcript == "信号再好一点" and spoken.confidence == pytest.approx(0.91)
    assert spoken.recording_url == ""


def test_speech_with_dont_know_also_listens_for_the_star(client, org, settings):
    settings.WAIHU_VOICE_OPEN_ANSWER_INPUT = "speech"
    attempt = _campaign(org, allow_dont_know=True)
    [gather] = _first_answer(client, attempt).findall("Gather")
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    assert gather.get("language") == "en-US"
    _post(client, gather.get("action"), {"Digits": "*"})
    assert _answers(attempt)["Q2"] == AnswerValue.dont_know()


# --- the sandbox answers as Twilio does ---------------------------------------------------


def _play(client, monkeypatch, attempt) -> SandboxCall:
    """Plays the attempt's call out in the sandbox, its requests sent through the test
    client rather than the network."""

    def post(url, data, headers, timeout):
        return client.post(url.removeprefix("http://testserver"), data, headers=headers)

    monkeypatch.setattr(play._session, "post", post)
    call = SandboxCall.objects.create(
        sid=attempt.call_sid,
        account_sid=telephony.account_sid(),
        to=attempt.to,
        from_number=attempt.caller_id,
        url="http://testserver" + reverse("voice:start", args=[attempt.pk]),
        status="in-progress",
        plan="answered",
        start_time=timezone.now(),
    )
    play.converse(call, call.url)
    call.refresh_from_db()
    return call


def test_the_sandbox_records_an_answer_like_twilio(client, org, monkeypatch):
    attempt = _campaign(org)
    call = _play(client, monkeypatch, attempt)
    # Every <Say> of Waihu's documents passed the sandbox's voice check.
    assert call.error_code == ""
    interview = Interview.objects.get()
    assert interview.response.status == ResponseStatus.COMPLETED
    spoken = SpokenAnswer.objects.get()
    assert spoken.source == SpokenAnswer.Source.RECORDING and spoken.finished_by == "#"
    assert spoken.recording_status == "completed" and spoken.recording_duration >= 1
    sandbox = f"http://testserver/sandbox/2010-04-01/Accounts/{telephony.account_sid()}"
    assert spoken.recording_url == f"{sandbox}/Recordings/{spoken.recording_sid}"
    assert spoken.recording_sid.startswith("RE" + attempt.call_sid[2:26])
    media = spoken.recording_url.removeprefix("http://testserver")
    # Served, as Twilio serves media, only with the account's credentials.
    assert client.get(media).status_code == 401
    credentials = f"{telephony.account_sid()}:{telephony.auth_token()}"
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    audio = client.get(media, headers={"Authorization": authorization})
    assert audio.status_code == 200 and audio["Content-Type"] in ("audio/wav", "audio/x-wav")
    assert audio.content[:4] == b"RIFF"
    assert _answers(attempt)["Q2"].is_missing


def test_the_sandbox_speaks_an_answer_in_the_questions_language(client, org, monkeypatch, settings):
    settings.WAIHU_VOICE_OPEN_ANSWER_INPUT = "speech"
    attempt = _campaign(org, language=Language.ZH_HANS)
    _play(client, monkeypatch, attempt)
    spoken = SpokenAnswer.objects.get()
    assert spoken.transcript in play.SPOKEN_ANSWERS["zh"]
    assert 0.8 <= spoken.confidence <= 0.98
    assert _answers(attempt)["Q2"] == AnswerValue.of_text(spoken.transcript)
    assert Interview.objects.get().response.status == ResponseStatus.COMPLETED
