"""Keypad questions in TwiML: what a caller is told to press, the <Gather> that collects
it, and the digits read back into an answer. Prompts are spoken in the questionnaire's
language, whatever the language of the request."""

import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from outbound.voice.speaker import Speaker
from surveys.engine import AnswerValue, QuestionSpec
from surveys.models import CHOICE_TYPES, Language, QuestionType

GATHER_TIMEOUT_SECONDS = 8
# A question is asked once more after a wrong or missing key; then it is left unanswered.
TRIES = 2
# The most values a number question lists as the keys it expects.
HINTED_VALUES = 30
# The key for "don't know", on a question that accepts it: the star alone.
DONT_KNOW_KEY = "*"


def django_language(language: str) -> str:
    return Language.EN if language == Language.EN else Language.ZH_HANS


def takes_several_keys(spec: QuestionSpec) -> bool:
    return spec.type in (QuestionType.MULTIPLE, QuestionType.NPS, QuestionType.NUMBER)


def _number_hints(spec: QuestionSpec) -> list[str]:
    low, high = spec.lower, spec.upper
    if low is None or high is None:
        return []
    if low != low.to_integral_value() or high != high.to_integral_value():
        return []
    if high - low + 1 > HINTED_VALUES or low < 0:
        return []
    return [str(n) for n in range(int(low), int(high) + 1)]


def keys_offered(spec: QuestionSpec) -> list[str]:
    """The keys (or numbers) the caller is told about, for the <Gather>'s hints."""
    keys: list[str] = []
    if spec.type in CHOICE_TYPES:
        keys = [c.keypad for c in spec.choices if c.keypad]
    elif spec.type in (QuestionType.NPS, QuestionType.NUMBER):
        keys = _number_hints(spec)
    if keys and spec.allow_dont_know:
        keys.append(DONT_KNOW_KEY)
    return keys


def prompts(spec: QuestionSpec, labels: dict[int, str], language: str) -> list[str]:
    """What is said after the question's text: the key for each choice, or how to key a
    number."""
    with translation.override(django_language(language)):
        lines = []
        if spec.type in CHOICE_TYPES:
            for choice in spec.choices:
                lines.append(
                    _("For %(label)s, press %(digit)s.")
                    % {"label": labels.get(choice.code, choice.label), "digit": choice.keypad}
                )
            if spec.type == QuestionType.MULTIPLE:
                lines.append(_("Press the key of every answer that applies, then the hash key."))
        elif spec.type == QuestionType.NPS:
            lines.append(_("Key a number from 0 to 10, then press the hash key."))
        elif spec.type == QuestionType.NUMBER:
            lines.append(_("Key the number, then press the hash key."))
        if lines and spec.allow_dont_know:
            if takes_several_keys(spec):
                lines.append(_("If you don't know, press the star key, then the hash key."))
            else:
                lines.append(_("If you don't know, press the star key."))
        return lines


def in_language(language: str):
    """Translations switched to the questionnaire's language for what is said aloud."""
    return translation.override(django_language(language))


def gather(
    response: VoiceResponse,
    *,
    spec: QuestionSpec,
    text: str,
    labels: dict[int, str],
    language: str,
    speaker: Speaker,
    action: str,
    lead_in: str = "",
) -> None:
    """Adds the question's <Gather>, and a <Redirect> to the same action for a caller who
    presses nothing (Twilio then moves on past the <Gather>)."""
    options = {
        "input": "dtmf",
        "action": action,
        "method": "POST",
        "timeout": GATHER_TIMEOUT_SECONDS,
    }
    if takes_several_keys(spec):
        options["finish_on_key"] = "#"
    else:
        options["num_digits"] = 1
    hints = keys_offered(spec)
    if hints:
        options["hints"] = ",".join(hints)
    ask = response.gather(**options)
    if lead_in:
        speaker.say(ask, lead_in)
    if text:
        speaker.say(ask, text)
    for line in prompts(spec, labels, language):
        speaker.say(ask, line)
    response.redirect(action, method="POST")


def opt_out_key() -> str:
    """The key that puts the caller on the do-not-call list, or "" when it is not offered."""
    return settings.WAIHU_VOICE_OPT_OUT_KEY


def introduction(
    response: VoiceResponse, *, texts: list[str], language: str, speaker: Speaker, action: str
):
    """The introduction read inside a <Gather> that listens for the opt-out key while it is
    read and a moment after. A caller who presses nothing is taken on to the next verb, the
    first question, without another request."""
    key = opt_out_key()
    if not key:
        for text in texts:
            speaker.say(response, text)
        return
    listen = response.gather(
        input="dtmf", action=action, method="POST", num_digits=1, timeout=1, hints=key
    )
    for text in texts:
        speaker.say(listen, text)
    with in_language(language):
        offer = _("If you do not want us to call you again, press %(key)s.") % {"key": key}
    speaker.say(listen, offer)


_KEYS = re.compile(r"^[0-9*]*$")


def answer_from_digits(spec: QuestionSpec, digits: str) -> AnswerValue | None:
    """The answer the keys stand for; None when they mean nothing here (or none were
    pressed), so the question can be asked again."""
    digits = (digits or "").strip().rstrip("#")
    if not digits or not _KEYS.match(digits):
        return None
    if digits == DONT_KNOW_KEY:
        return AnswerValue.dont_know() if spec.allow_dont_know else None
    if spec.type in CHOICE_TYPES:
        by_key = {c.keypad: c.code for c in spec.choices if c.keypad}
        if spec.type != QuestionType.MULTIPLE and len(digits) != 1:
            return None
        codes = []
        for key in digits:
            if key not in by_key:
                return None
            codes.append(by_key[key])
        return AnswerValue.of_choices(*codes)
    if spec.type in (QuestionType.NPS, QuestionType.NUMBER):
        try:
            number = Decimal(digits.replace("*", "."))
        except InvalidOperation:
            return None
        if spec.lower is not None and number < spec.lower:
            return None
        if spec.upper is not None and number > spec.upper:
            return None
        if spec.type == QuestionType.NPS and number != number.to_integral_value():
            return None
        return AnswerValue.of_number(number)
    return None


# --- open questions, answered aloud -----------------------------------------------------

# Seconds of silence that end a recording (Twilio's own default).
RECORD_SILENCE_SECONDS = 5


def open_answer_input() -> str:
    """ "record" (<Record>: the caller's words kept as audio) or "speech" (<Gather
    input="speech">: the words recognised as text)."""
    return settings.WAIHU_VOICE_OPEN_ANSWER_INPUT


def open_prompts(spec: QuestionSpec, language: str, *, recording: bool) -> list[str]:
    with in_language(language):
        if recording:
            lines = [_("Please give your answer after the beep, then press the hash key.")]
        else:
            lines = [_("Please say your answer.")]
        if spec.allow_dont_know:
            lines.append(_("If you don't know, press the star key."))
        return lines


def open_question(
    response: VoiceResponse,
    *,
    spec: QuestionSpec,
    text: str,
    language: str,
    speaker: Speaker,
    action: str,
    recording_status: str,
    lead_in: str = "",
) -> None:
    """Asks an open question. By <Record>: the question and the prompt are read, then the
    beep; the caller's words are recorded until the hash key (the star for "don't know"),
    silence or the longest answer allowed. By <Gather input="speech">: the words are
    recognised in the voice's language (Twilio's <Record transcribe> knows English only).
    Either way a <Redirect> to the action follows, for a caller who says nothing."""
    if open_answer_input() == "speech":
        options = {
            "input": "dtmf speech" if spec.allow_dont_know else "speech",
            "action": action,
            "method": "POST",
            "language": speaker.recognition_language,
            "speech_timeout": "auto",
            "timeout": GATHER_TIMEOUT_SECONDS,
        }
        if spec.allow_dont_know:
            options["num_digits"] = 1
        ask = response.gather(**options)
        for line in (lead_in, text, *open_prompts(spec, language, recording=False)):
            if line:
                speaker.say(ask, line)
        response.redirect(action, method="POST")
        return
    for line in (lead_in, text, *open_prompts(spec, language, recording=True)):
        if line:
            speaker.say(response, line)
    response.record(
        action=action,
        method="POST",
        timeout=RECORD_SILENCE_SECONDS,
        finish_on_key="#*" if spec.allow_dont_know else "#",
        max_length=settings.WAIHU_VOICE_OPEN_ANSWER_SECONDS,
        play_beep=True,
        recording_status_callback=recording_status,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    # Should Twilio go on to the next verb without asking for the action (a silent
    # recording is not kept), the <Redirect> brings the call to the action all the same.
    response.redirect(action, method="POST")
