"""The text-to-speech voices Waihu asks Twilio for, and the language each one speaks.

Twilio refuses a <Say> whose voice does not speak its language ("Using an invalid
combination of voice and language may result in error and <Say> instruction failure",
https://www.twilio.com/docs/voice/twiml/say), so every voice we name comes from this table,
taken from Twilio's list of voices and languages:
https://www.twilio.com/docs/voice/twiml/say/text-speech
Amazon Polly and Google voices all take SSML, and so <prosody rate> (Twilio's <Say> page,
and https://docs.aws.amazon.com/polly/latest/dg/prosody-tag.html: 20% to 200%).

The module imports nothing from Django, so the settings can check their voices against it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Voice:
    name: str
    # Twilio's <Say language> for this voice.
    language: str
    ssml: bool = True


def _voices(language: str, *names: str) -> list[Voice]:
    return [Voice(name, language) for name in names]


VOICES: dict[str, Voice] = {
    voice.name: voice
    for voice in (
        *_voices(
            "cmn-CN",
            "Polly.Zhiyu",
            "Polly.Zhiyu-Neural",
            "Google.cmn-CN-Standard-A",
            "Google.cmn-CN-Standard-B",
            "Google.cmn-CN-Standard-C",
            "Google.cmn-CN-Standard-D",
            "Google.cmn-CN-Wavenet-A",
            "Google.cmn-CN-Wavenet-B",
            "Google.cmn-CN-Wavenet-C",
            "Google.cmn-CN-Wavenet-D",
        ),
        *_voices(
            "en-US",
            "Polly.Joanna",
            "Polly.Joanna-Neural",
            "Polly.Matthew",
            "Polly.Matthew-Neural",
            "Polly.Salli",
            "Polly.Salli-Neural",
            "Polly.Kendra",
            "Polly.Kendra-Neural",
            "Polly.Ruth-Neural",
            "Polly.Stephen-Neural",
            "Polly.Danielle-Neural",
            "Polly.Gregory-Neural",
            "Google.en-US-Standard-A",
            "Google.en-US-Standard-B",
            "Google.en-US-Standard-C",
            "Google.en-US-Standard-D",
            "Google.en-US-Wavenet-A",
            "Google.en-US-Wavenet-B",
            "Google.en-US-Wavenet-C",
            "Google.en-US-Wavenet-D",
            "Google.en-US-Neural2-A",
            "Google.en-US-Neural2-C",
            "Google.en-US-Neural2-D",
        ),
        *_voices(
            "en-GB",
            "Polly.Amy",
            "Polly.Amy-Neural",
            "Polly.Brian",
            "Polly.Brian-Neural",
            "Polly.Emma",
            "Polly.Emma-Neural",
            "Polly.Arthur-Neural",
            "Google.en-GB-Standard-A",
            "Google.en-GB-Standard-B",
            "Google.en-GB-Standard-C",
            "Google.en-GB-Standard-D",
            "Google.en-GB-Wavenet-A",
            "Google.en-GB-Wavenet-B",
            "Google.en-GB-Wavenet-C",
            "Google.en-GB-Wavenet-D",
            "Google.en-GB-Neural2-A",
        ),
    )
}

# Twilio's default voice when a <Say> names none ("man", en-US by default). Waihu always
# names one; the sandbox accepts these so that a bare <Say> in English stays valid.
BASIC_VOICES: dict[str, frozenset[str]] = {
    "man": frozenset({"en-US"}),
    "woman": frozenset({"en-US"}),
}

# The <Say> languages that speak each questionnaire language (surveys.models.Language).
SAY_LANGUAGES: dict[str, tuple[str, ...]] = {
    "zh-hans": ("cmn-CN",),
    "en": ("en-US", "en-GB"),
}

# <Gather input="speech"> languages, from the language list of Twilio's <Gather> page
# (https://www.twilio.com/docs/voice/twiml/gather): Mandarin is recognised
# as cmn-Hans-CN, not as the cmn-CN of text-to-speech.
RECOGNITION_LANGUAGES: dict[str, str] = {
    "cmn-CN": "cmn-Hans-CN",
    "en-US": "en-US",
    "en-GB": "en-GB",
}

# How fast the voices speak with no <prosody>: about 250 Chinese characters a minute for
# the Mandarin voices (some 4 a second, a news reader's pace) and about 170 words a minute
# for the English ones. An assumption: neither Twilio nor the voices' makers publish a
# figure, and a voice's pace varies with the text. The prosody rate that brings a voice to
# the customer's pace is worked out from it, so correct it here if a voice proves faster.
NATURAL_PACE: dict[str, float] = {
    "zh-hans": 250.0,
    "en": 170.0,
}

# The range Amazon Polly accepts for <prosody rate="n%">.
RATE_PERCENT_MIN = 20
RATE_PERCENT_MAX = 200


def voices_for(language: str) -> list[Voice]:
    """The voices that speak a questionnaire language, in the table's order."""
    locales = SAY_LANGUAGES.get(language, ())
    return [voice for voice in VOICES.values() if voice.language in locales]


def voice_names(language: str) -> tuple[str, ...]:
    return tuple(voice.name for voice in voices_for(language))


def speaks(voice_name: str, language: str) -> bool:
    """Whether the voice speaks the questionnaire language."""
    voice = VOICES.get(voice_name)
    return voice is not None and voice.language in SAY_LANGUAGES.get(language, ())


def pair_is_valid(voice_name: str | None, say_language: str | None) -> bool:
    """Whether Twilio accepts a <Say> with this voice and language attribute (either may be
    missing: Twilio then uses "man" and en-US)."""
    voice_name = voice_name or "man"
    say_language = say_language or "en-US"
    if voice_name in BASIC_VOICES:
        return say_language in BASIC_VOICES[voice_name]
    voice = VOICES.get(voice_name)
    return voice is not None and voice.language == say_language


def rate_percent(target: float, language: str) -> int:
    """The <prosody rate> that brings a voice of the language from its natural pace to the
    target pace (in the same units a minute)."""
    natural = NATURAL_PACE.get(language, NATURAL_PACE["zh-hans"])
    return max(RATE_PERCENT_MIN, min(RATE_PERCENT_MAX, round(target / natural * 100)))


def spoken_pace(rate: int, language: str) -> float:
    """The pace a voice of the language speaks at with <prosody rate="rate%">."""
    return NATURAL_PACE.get(language, NATURAL_PACE["zh-hans"]) * rate / 100
