"""Every TwiML document Waihu emits, in both questionnaire languages, holds only the verbs,
attributes and values Twilio documents:
  <Say>       https://www.twilio.com/docs/voice/twiml/say
              voices: https://www.twilio.com/docs/voice/twiml/say/text-speech
              <prosody rate>: https://docs.aws.amazon.com/polly/latest/dg/prosody-tag.html
  <Gather>    https://www.twilio.com/docs/voice/twiml/gather
  <Record>    https://www.twilio.com/docs/voice/twiml/record
  <Redirect>  https://www.twilio.com/docs/voice/twiml/redirect
  <Pause>     https://www.twilio.com/docs/voice/twiml/pause
  <Hangup>    https://www.twilio.com/docs/voice/twiml/hangup
  <Dial>      https://www.twilio.com/docs/voice/twiml/dial
  <Number>    https://www.twilio.com/docs/voice/twiml/number
The documents are those of a campaign without a voice questionnaire, the voice survey's
start, every question type with and without "don't know", open questions recorded and
recognised, the questions asked again, the opt-out, the closing, the screen-out, the
answering machine, a questionnaire a keypad cannot answer, the agent's bridge and what the
agent hears when the customer's leg ends."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from outbound import telephony
from outbound.models import WorkOrder
from outbound.voice import services as voice
from outbound.voice import voices
from surveys import services as surveys
from surveys.models import Action, Condition, Language, QuestionType
from surveys.presets import Preset
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones, signed_post
from tests.outbound.test_voice_fixtures import press, start_call, voice_campaign

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier

URL = re.compile(r"^https?://[^\s/]+/\S*$")
KEYS = set("0123456789*#")


def _absolute(value: str) -> bool:
    return bool(URL.match(value))


def _positive(value: str, high: int = 10**6) -> bool:
    return value.isdigit() and 1 <= int(value) <= high


def _rate(value: str) -> bool:
    if value in ("x-slow", "slow", "medium", "fast", "x-fast"):
        return True
    match = re.fullmatch(r"(\d+)%", value)
    return bool(match) and voices.RATE_PERCENT_MIN <= int(match[1]) <= voices.RATE_PERCENT_MAX


def _keys(value: str) -> bool:
    return bool(value) and set(value) <= KEYS


METHOD = {"GET", "POST"}.__contains__
BOOLEAN = {"true", "false"}.__contains__

# verb -> attribute -> the values Twilio documents for it.
ALLOWED = {
    "Response": {},
    "Say": {
        "voice": voices.VOICES.__contains__,
        "language": {v.language for v in voices.VOICES.values()}.__contains__,
        "loop": str.isdigit,
    },
    "prosody": {"rate": _rate},
    "Gather": {
        "action": _absolute,
        "method": METHOD,
        "input": {"dtmf", "speech", "dtmf speech"}.__contains__,
        "timeout": lambda v: _positive(v, 60),
        "numDigits": _positive,
        "finishOnKey": lambda v: v == "" or _keys(v),
        "hints": lambda v: all(part.strip() for part in v.split(",")),
        "language": set(voices.RECOGNITION_LANGUAGES.values()).__contains__,
        "speechTimeout": lambda v: v == "auto" or _positive(v),
    },
    "Record": {
        "action": _absolute,
        "method": METHOD,
        "timeout": _positive,
        "finishOnKey": _keys,
        "maxLength": lambda v: v.isdigit() and 2 <= int(v) <= 14400,
        "playBeep": BOOLEAN,
        "trim": {"trim-silence", "do-not-trim"}.__contains__,
        "recordingStatusCallback": _absolute,
        "recordingStatusCallbackMethod": METHOD,
        "recordingStatusCallbackEvent": lambda v: (
            bool(v) and set(v.split()) <= {"in-progress", "completed", "absent"}
        ),
    },
    "Redirect": {"method": METHOD},
    "Pause": {"length": _positive},
    "Hangup": {},
    "Dial": {
        "callerId": lambda v: bool(re.fullmatch(r"\+\d{7,15}", v)),
        "timeout": lambda v: v.isdigit() and 5 <= int(v) <= 600,
        "answerOnBridge": BOOLEAN,
        "record": {
            "do-not-record",
            "record-from-answer",
            "record-from-ringing",
            "record-from-answer-dual",
            "record-from-ringing-dual",
        }.__contains__,
        "action": _absolute,
        "method": METHOD,
        # https://www.twilio.com/docs/voice/twiml/dial#recordingstatuscallback
        "recordingStatusCallback": _absolute,
        "recordingStatusCallbackEvent": lambda v: (
            bool(v.split()) and set(v.split()) <= {"in-progress", "completed", "absent"}
        ),
        "recordingStatusCallbackMethod": METHOD,
    },
    "Number": {
        "statusCallback": _absolute,
        "statusCallbackMethod": METHOD,
        "statusCallbackEvent": lambda v: (
            bool(v) and set(v.split()) <= {"initiated", "ringing", "answered", "completed"}
        ),
    },
}
CHILDREN = {
    "Response": {"Say", "Gather", "Record", "Redirect", "Pause", "Hangup", "Dial"},
    "Gather": {"Say", "Pause"},
    "Say": {"prosody"},
    "Dial": {"Number"},
}
# A verb whose text is spoken or followed must have some; the others none.
TEXT = {"Say", "prosody", "Redirect", "Number"}


def check(document: bytes | str, language: str) -> ET.Element:
    """Checks one document against the allow-list; `language` is the questionnaire
    language its <Say>s must speak."""
    root = ET.fromstring(document)  # noqa: S314  (our own output)
    assert root.tag == "Response"

    def visit(element: ET.Element) -> None:
        tag = element.tag
        assert tag in ALLOWED, tag
        for name, value in element.attrib.items():
            assert name in ALLOWED[tag], (tag, name)
            assert ALLOWED[tag][name](value), (tag, name, value)
        for child in element:
            assert child.tag in CHILDREN.get(tag, set()), (tag, child.tag)
            visit(child)
        text = (element.text or "").strip()
        if tag in ("Redirect",):
            assert _absolute(text), text
        elif tag == "Number":
            assert re.fullmatch(r"\+\d{7,15}", text), text
        elif tag == "Say":
            assert "".join(element.itertext()).strip()
            voice = element.get("voice")
            assert voice and voices.pair_is_valid(voice, element.get("language"))
            assert voices.speaks(voice, language), (voice, language)
        elif tag not in TEXT:
            assert not text, (tag, text)
        if tag == "Gather":
            assert element.get("method") == "POST" and element.get("action")
            assert element.get("timeout")
            kinds = element.get("input", "dtmf").split()
            if "speech" in kinds:
                assert element.get("language") and element.get("speechTimeout")
            if kinds == ["dtmf"]:
                assert element.get("numDigits") or element.get("finishOnKey")
        if tag == "Record":
            assert element.get("action") and element.get("maxLength")
            assert element.get("playBeep") == "true" and element.get("finishOnKey")

    visit(root)
    return root


TEXTS = {
    Language.EN: {
        "parts": {
            "greeting_salutation": "Hello {customer_name}.",
            "greeting_introduction": "This is the customer-service centre.",
            "transition_purpose": "A few questions about our service.",
            "transition_cost": "The call is free.",
            "closing_summary": "You told us about our service.",
            "closing_thanks": "Thank you.",
            "closing_wishes": "Goodbye.",
        },
        "questions": [
            "Are you the account holder?",
            "Which brand do you use?",
            "Which services do you use?",
            "How satisfied are you?",
            "From 0 to 10, would you recommend us?",
            "How much do you spend a month?",
            "Two more questions.",
            "What should we do better?",
            "Anything else?",
        ],
        "choices": ["GoTone", "M-Zone", "Easyown"],
    },
    Language.ZH_HANS: {
        "parts": {
            "greeting_salutation": "{customer_name}您好。",
            "greeting_introduction": "这里是客服中心。",
            "transition_purpose": "想了解您对我们服务的看法。",
            "transition_cost": "本次通话免费。",
            "closing_summary": "您的意见我们已经记下。",
            "closing_thanks": "谢谢您。",
            "closing_wishes": "祝您生活愉快，再见。",
        },
        "questions": [
            "请问您是机主本人吗？",
            "您使用的是哪个品牌？",
            "您使用了哪些业务？",
            "您对我们的服务满意吗？",
            "从0到10分，您愿意向朋友推荐我们吗？",
            "您每月大约消费多少元？",
            "还有两个问题。",
            "您希望我们改进哪些方面？",
            "您还有其他建议吗？",
        ],
        "choices": ["全球通", "动感地带", "神州行"],
    },
}


def every_type(language: str):
    """One question of every type a voice survey asks: yes/no (no screens out), single
    and multiple choice, a rating scale, 0-10, a number, a statement, and two open
    questions; "don't know" allowed on some."""
    texts = TEXTS[language]
    version = surveys.questionnaire_create(
        name=f"All types {language}", language=language, mode="voice"
    )
    surveys.version_update_parts(version=version, transition_duration_minutes=2, **texts["parts"])
    q = texts["questions"]
    add = surveys.question_add
    yes_no = add(version=version, type=QuestionType.YES_NO, text=q[0])
    single = add(version=version, type=QuestionType.SINGLE, text=q[1], allow_dont_know=True)
    several = add(version=version, type=QuestionType.MULTIPLE, text=q[2])
    for question in (single, several):
        for key, label in enumerate(texts["choices"], start=1):
            surveys.choice_add(question=question, label=label, keypad=str(key))
    add(version=version, type=QuestionType.SCALE, preset=Preset.SATISFACTION_5, text=q[3])
    add(version=version, type=QuestionType.NPS, text=q[4], allow_dont_know=True)
    add(version=version, type=QuestionType.NUMBER, text=q[5], min_value=0, max_value=9999)
    add(version=version, type=QuestionType.STATEMENT, text=q[6])
    add(version=version, type=QuestionType.TEXT, text=q[7], allow_dont_know=True)
    add(version=version, type=QuestionType.TEXT, text=q[8])
    surveys.rule_add(
        question=yes_no,
        condition=Condition.CHOICE,
        choices=[yes_no.choices.get(code=2)],
        action=Action.SCREEN_OUT,
    )
    findings = surveys.version_publish(version=version)
    version.refresh_from_db()
    assert version.is_published, [f.message for f in findings]
    return version


def _question_gather(root):
    return next(g for g in root.iter("Gather") if "/questions/" in g.get("action", ""))


def _next_action(root) -> str:
    for verb in root:
        if verb.tag == "Record" or (verb.tag == "Gather" and "/questions/" in verb.get("action")):
            return verb.get("action")
    raise AssertionError("no question asked")


def _post(client, url: str, params: dict):
    response = signed_post(client, url.removeprefix("http://testserver"), params)
    assert response.status_code == 200
    return response.content


# The answers keyed through the questionnaire, after a wrong key on the first question:
# yes, don't know, two services, very satisfied, don't know, 120, then the open answers.
KEYED = ["1", "*", "12#", "1", "*#", "120#"]


def _walk(client, attempt, language: str, *, spoken: list[dict]) -> list[bytes]:
    documents = []
    root = check(start_call(client, attempt).content, language)
    documents.append(ET.tostring(root))
    wrong = _post(client, _question_gather(root).get("action"), {"Digits": "7"})
    root = check(wrong, language)  # asked again
    for keys in KEYED:
        root = check(_post(client, _next_action(root), {"Digits": keys}), language)
        documents.append(ET.tostring(root))
    # Silence on the first open question: asked again; then the answers.
    root = check(_post(client, _next_action(root), {}), language)
    for params in spoken:
        root = check(_post(client, _next_action(root), params), language)
        documents.append(ET.tostring(root))
    assert root[-1].tag == "Hangup"
    return documents


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_every_document_of_the_voice_survey_is_allowed_twiml(
    client, org, settings, carrier, language
):
    version = every_type(language)
    order = voice_campaign(org, phones=phones(6), version=version, record=True)
    contacts = list(order.contacts.order_by("pk"))

    def attempt(n: int):
        return open_attempt(order, contacts[n], sid=f"CA{n:032d}")

    recording = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "b" * 32
    # Open questions recorded: the star for "don't know", then a recording.
    documents = _walk(
        client,
        attempt(0),
        language,
        spoken=[{"Digits": "*"}, {"RecordingUrl": recording, "Digits": "#"}],
    )
    assert any(b"<Record " in d for d in documents)
    # Open questions recognised as speech.
    settings.WAIHU_VOICE_OPEN_ANSWER_INPUT = "speech"
    documents = _walk(
        client,
        attempt(1),
        language,
        spoken=[{"Digits": "*"}, {"SpeechResult": "ok", "Confidence": "0.9"}],
    )
    assert any(b'input="dtmf speech"' in d for d in documents)
    # Screened out at the first question.
    root = check(start_call(client, attempt(2)).content, language)
    check(_post(client, _question_gather(root).get("action"), {"Digits": "2"}), language)
    # The opt-out key during the introduction.
    root = check(start_call(client, attempt(3)).content, language)
    intro = next(g for g in root.iter("Gather") if g.get("action").endswith("/opt-out/"))
    goodbye = check(press(client, intro.get("action"), "9").content, language)
    assert [verb.tag for verb in goodbye] == ["Say", "Hangup"]
    # An answering machine.
    check(start_call(client, attempt(4), AnsweredBy="machine_start").content, language)
    # The agent's bridge and the end of the customer's leg, read in the agent's language.
    bridged = attempt(5)
    bridge = voice.agent_bridge_twiml(attempt=bridged)
    assert "<Dial" in bridge and 'record="record-from-answer"' in bridge
    check(bridge, Language.ZH_HANS)
    for status in ("busy", "no-answer", "failed", "canceled", "completed"):
        ended = voice.agent_dial_ended_twiml(attempt=bridged, params={"DialCallStatus": status})
        check(ended, Language.ZH_HANS)


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_greetings_and_refusals_are_allowed_twiml(client, org, language):
    version = every_type(language)
    # A campaign whose questionnaire is for agents: the dialer's webhook only greets.
    agents = make_campaign(org, phones=phones(1), mode=WorkOrder.Mode.AGENTS)
    WorkOrder.objects.filter(pk=agents.pk).update(questionnaire=version)
    greeted = open_attempt(agents, sid="CA" + "2" * 32)
    url = reverse("telephony:twiml", args=[greeted.pk])
    check(signed_post(client, url, {"CallSid": greeted.call_sid}).content, language)
    # A campaign without a questionnaire greets in the language of the request.
    bare = make_campaign(org, phones=phones(1, start=10), mode=WorkOrder.Mode.AGENTS)
    plain = open_attempt(bare, sid="CA" + "3" * 32)
    url = reverse("telephony:twiml", args=[plain.pk])
    params = {"CallSid": plain.call_sid}
    headers = {
        "X-Twilio-Signature": telephony.sign("http://testserver" + url, params),
        "Accept-Language": "en" if language == Language.EN else "zh-hans",
    }
    check(client.post(url, params, headers=headers).content, language)
    # A voice campaign whose questionnaire a keypad cannot answer says it cannot go on.
    version.mode = "agent"
    version.save(update_fields=["mode"])
    refused = open_attempt(voice_campaign(org, phones=phones(1, start=20), version=version))
    root = check(start_call(client, refused).content, language)
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
