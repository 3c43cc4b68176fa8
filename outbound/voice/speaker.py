"""Every <Say> Waihu emits goes through a Speaker: a voice that speaks the language, named
with its language, and set by <prosody rate> to the customer's reading pace (120-150
Chinese characters a minute) where the voice takes SSML."""

from dataclasses import dataclass

from django.conf import settings

from outbound.models import CampaignSettings
from outbound.voice import voices
from surveys.checker import speech_pace
from surveys.models import Language

DEFAULT_VOICE_SETTINGS = {Language.ZH_HANS: "WAIHU_VOICE_ZH_HANS", Language.EN: "WAIHU_VOICE_EN"}


def questionnaire_language(language: str | None) -> str:
    return Language.EN if language == Language.EN else Language.ZH_HANS


def default_voice(language: str) -> voices.Voice:
    """The voice of the settings for a questionnaire language."""
    language = questionnaire_language(language)
    return voices.VOICES[getattr(settings, DEFAULT_VOICE_SETTINGS[language])]


def campaign_voice(campaign) -> str:
    """The voice a campaign chose, or "" for the default."""
    if campaign is None:
        return ""
    try:
        rules = campaign.dialing
    except CampaignSettings.DoesNotExist:
        return ""
    return rules.voice or ""


def rate_for(language: str) -> int:
    """The <prosody rate> (percent) that reads the language at the target pace."""
    language = questionnaire_language(language)
    return voices.rate_percent(speech_pace(language).target, language)


@dataclass(frozen=True)
class Speaker:
    voice: voices.Voice
    # <prosody rate>, in percent of the voice's own pace; None reads at the voice's pace.
    rate: int | None = None

    @property
    def recognition_language(self) -> str:
        """The <Gather input="speech"> language for what callers say back."""
        return voices.RECOGNITION_LANGUAGES[self.voice.language]

    def say(self, parent, text: str):
        """Adds a <Say> of `text` to a <Response> or a <Gather>."""
        if self.rate is None or self.rate == 100 or not self.voice.ssml:
            return parent.say(text, voice=self.voice.name, language=self.voice.language)
        say = parent.say(voice=self.voice.name, language=self.voice.language)
        say.prosody(text, rate=f"{self.rate}%")
        return say


def speaker_for(language: str | None, campaign=None) -> Speaker:
    """The speaker for a questionnaire language: the campaign's voice where it speaks the
    language, else the default one."""
    language = questionnaire_language(language)
    chosen = campaign_voice(campaign)
    if chosen and voices.speaks(chosen, language):
        voice = voices.VOICES[chosen]
    else:
        voice = default_voice(language)
    return Speaker(voice=voice, rate=rate_for(language) if voice.ssml else None)
