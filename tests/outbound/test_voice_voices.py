"""Voices and pace: every <Say> names a voice that speaks the questionnaire's language (the
default from the settings, or the campaign's own choice), set by <prosody rate> to the
customer's reading pace, the same pace the questionnaire checker's duration estimate uses."""

from dataclasses import replace

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from outbound.models import CampaignSettings
from outbound.voice import voices
from outbound.voice.speaker import rate_for, speaker_for
from surveys.checker import estimate_duration, speech_pace
from surveys.engine import Parts, QuestionSpec
from surveys.models import Language
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import parse_twiml
from tests.outbound.test_dialer_fixtures import open_attempt, phones
from tests.outbound.test_voice_fixtures import keypad_questionnaire, start_call, voice_campaign
from tests.surveys.scripts import script

# The shared fixtures, used by name.
org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


def _says(root):
    return list(root.iter("Say"))


def test_every_voice_speaks_one_of_the_questionnaire_languages():
    locales = {locale for group in voices.SAY_LANGUAGES.values() for locale in group}
    assert {voice.language for voice in voices.VOICES.values()} == locales
    assert set(voices.RECOGNITION_LANGUAGES) == locales
    assert voices.speaks("Polly.Zhiyu-Neural", Language.ZH_HANS)
    assert voices.speaks("Google.cmn-CN-Wavenet-A", Language.ZH_HANS)
    assert not voices.speaks("Polly.Zhiyu-Neural", Language.EN)
    assert voices.speaks("Polly.Amy-Neural", Language.EN)
    assert not voices.speaks("Polly.Joanna-Neural", Language.ZH_HANS)
    assert not voices.speaks("Polly.Nobody", Language.EN)


def test_the_defaults_speak_their_languages():
    assert django_settings.WAIHU_VOICE_ZH_HANS == "Polly.Zhiyu-Neural"
    assert voices.speaks(django_settings.WAIHU_VOICE_ZH_HANS, Language.ZH_HANS)
    assert voices.speaks(django_settings.WAIHU_VOICE_EN, Language.EN)


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_the_spoken_pace_is_the_checkers_pace(language, settings):
    """The voice is slowed (or sped up) to the middle of the customer's range, and the
    checker's typical estimate reads the script at that same pace."""
    pace = speech_pace(language)
    rate = rate_for(language)
    spoken = voices.spoken_pace(rate, language)
    assert pace.slow <= spoken <= pace.fast
    # Within the rounding of the rate to a whole percent.
    assert abs(spoken - pace.target) <= voices.NATURAL_PACE[language] / 100
    settings.WAIHU_ANSWER_PAUSE_SECONDS = 0
    units = 300
    text = "字" * units if language == Language.ZH_HANS else " ".join(["word"] * units)
    estimate = estimate_duration(
        replace(
            script(QuestionSpec(code="Q1", type="statement", text=text)),
            parts=Parts(),
            language=language,
        )
    )
    assert estimate.typical_minutes == pytest.approx(units / pace.target)
    assert estimate.typical_minutes == pytest.approx(units / spoken, rel=0.01)


def test_the_pace_follows_the_settings(settings):
    settings.WAIHU_SPEECH_CHARS_PER_MINUTE_MIN = 100
    settings.WAIHU_SPEECH_CHARS_PER_MINUTE_MAX = 100
    assert rate_for(Language.ZH_HANS) == round(100 / voices.NATURAL_PACE["zh-hans"] * 100)
    assert voices.rate_percent(10_000, "en") == voices.RATE_PERCENT_MAX
    assert voices.rate_percent(1, "en") == voices.RATE_PERCENT_MIN


@pytest.mark.django_db
def test_every_say_of_a_call_names_the_voice_its_language_and_the_pace(client, org):
    version = keypad_questionnaire(language=Language.ZH_HANS, name="维修回访")
    attempt = open_attempt(voice_campaign(org, phones=phones(1), version=version))
    root = parse_twiml(start_call(client, attempt).content)
    says = _says(root)
    assert says
    rate = f"{rate_for(Language.ZH_HANS)}%"
    for say in says:
        assert (say.get("voice"), say.get("language")) == ("Polly.Zhiyu-Neural", "cmn-CN")
        [prosody] = list(say)
        assert prosody.tag == "prosody" and prosody.get("rate") == rate
        assert prosody.text and not (say.text or "").strip()


@pytest.mark.django_db
def test_a_campaign_reads_in_its_own_voice(client, org):
    order = voice_campaign(org, phones=phones(1))
    CampaignSettings.objects.filter(pk=order.pk).update(voice="Polly.Amy-Neural")
    root = parse_twiml(start_call(client, open_attempt(order)).content)
    assert {(s.get("voice"), s.get("language")) for s in _says(root)} == {
        ("Polly.Amy-Neural", "en-GB")
    }


@pytest.mark.django_db
def test_a_campaign_voice_that_does_not_speak_the_language_is_not_used(org):
    order = voice_campaign(org, phones=phones(1))
    CampaignSettings.objects.filter(pk=order.pk).update(voice="Polly.Zhiyu")
    order.refresh_from_db()
    assert speaker_for(Language.EN, order).voice.name == "Polly.Joanna-Neural"
    assert speaker_for(Language.ZH_HANS, order).voice.name == "Polly.Zhiyu"


@pytest.mark.django_db
def test_the_agent_hears_connecting_in_a_voice_of_their_language(org):
    from outbound.voice.services import agent_bridge_twiml

    order = voice_campaign(org, phones=phones(1))
    root = parse_twiml(agent_bridge_twiml(attempt=open_attempt(order)))
    [say] = _says(root)
    assert (say.get("voice"), say.get("language")) == ("Polly.Zhiyu-Neural", "cmn-CN")


def _settings_form(client, org, order, **data):
    client.force_login(org.outbound_admin)
    url = reverse("campaigns:settings", args=[order.pk])
    rules = CampaignSettings.objects.get(pk=order.pk)
    form = {
        "max_attempts": rules.max_attempts,
        "retry_busy_minutes": 30,
        "retry_no_answer_minutes": 120,
        "retry_failed_minutes": 60,
        "retry_machine_minutes": 240,
        "calls_per_second": 1,
        "max_concurrent": 5,
        "from_1": "09:00",
        "until_1": "18:00",
        **data,
    }
    return client.post(url, form)


@pytest.mark.django_db
def test_the_settings_form_offers_the_voices_of_the_questionnaires_language(client, org):
    version = keypad_questionnaire(language=Language.ZH_HANS, name="维修回访")
    order = voice_campaign(org, phones=phones(1), version=version)
    client.force_login(org.outbound_admin)
    page = client.get(reverse("campaigns:settings", args=[order.pk]))
    choices = dict(page.context["form"].fields["voice"].widget.choices)
    assert "Default: Polly.Zhiyu-Neural" in str(choices[""])
    assert set(choices) - {""} == set(voices.voice_names(Language.ZH_HANS))

    response = _settings_form(client, org, order, voice="Polly.Joanna-Neural")
    assert response.status_code == 200
    assert response.context["form"].errors["voice"] == [
        "The voice Polly.Joanna-Neural does not speak the questionnaire's language."
    ]
    assert CampaignSettings.objects.get(pk=order.pk).voice == ""

    assert _settings_form(client, org, order, voice="Google.cmn-CN-Wavenet-B").status_code == 302
    assert CampaignSettings.objects.get(pk=order.pk).voice == "Google.cmn-CN-Wavenet-B"
    assert _settings_form(client, org, order, voice="").status_code == 302
    assert CampaignSettings.objects.get(pk=order.pk).voice == ""


# --- the sandbox refuses a voice that does not speak its language -------------------------


class _Document:
    status_code = 200

    def __init__(self, content: bytes):
        self.content = content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "say",
    [
        # What Waihu emitted before it named voices: Twilio's default voice has no Chinese.
        '<Say language="zh-CN">您好</Say>',
        '<Say voice="Polly.Joanna-Neural" language="cmn-CN">您好</Say>',
        '<Say voice="Polly.Nobody" language="en-US">Hello</Say>',
    ],
)
def test_the_sandbox_ends_a_call_whose_say_has_a_wrong_voice(client, org, monkeypatch, say):
    from django.utils import timezone

    from outbound.models import SandboxCall
    from outbound.sandbox import play

    attempt = open_attempt(voice_campaign(org, phones=phones(1)))
    twiml_url = "http://testserver/bad-twiml"
    fetched = []

    def post(url, data, headers, timeout):
        if url == twiml_url:
            fetched.append(url)
            return _Document(f"<Response>{say}<Hangup/></Response>".encode())
        return client.post(url.removeprefix("http://testserver"), data, headers=headers)

    monkeypatch.setattr(play._session, "post", post)
    call = SandboxCall.objects.create(
        sid=attempt.call_sid,
        account_sid="AC" + "5a" * 16,
        to=attempt.to,
        from_number=attempt.caller_id,
        url=twiml_url,
        status="in-progress",
        plan="answered",
        start_time=timezone.now(),
        status_callback="http://testserver" + reverse("telephony:status", args=[attempt.pk]),
        status_callback_events=["completed"],
    )
    play.converse(call, call.url)
    call.refresh_from_db()
    assert fetched == [twiml_url]
    assert call.status == "completed" and call.error_code == play.SAY_INVALID_VOICE == "13511"
    attempt.refresh_from_db()
    assert attempt.finished_at is not None and attempt.error_code == "13511"


def test_the_sandbox_accepts_the_voices_of_the_table():
    import xml.etree.ElementTree as ET

    from outbound.sandbox import play

    for voice in voices.VOICES.values():
        root = ET.fromstring(  # noqa: S314
            f'<Response><Say voice="{voice.name}" language="{voice.language}">x</Say></Response>'
        )
        assert play.say_error(root) is None, voice
    assert play.say_error(ET.fromstring("<Response><Say>Hello</Say></Response>")) is None  # noqa: S314
