"""The agent's speaking pace: the time the console measured over each stretch of the script
(the opening with the first question, each question with its answer options, the closing)
against the characters (Chinese) or words (English) read aloud, compared with the pace the
customer's documents ask for (WAIHU_SPEECH_CHARS_PER_MINUTE_MIN/MAX, or the words
settings for English). The pause allowed for each answer (WAIHU_ANSWER_PAUSE_SECONDS, as
in the questionnaire checker's estimate) is not reading time, so it is left out."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from outbound.models import Interview, ScriptReading
from surveys.checker import speech_pace, speech_units
from surveys.models import Choice, Language, Question, QuestionType
from surveys.placeholders import placeholders_fill

Part = ScriptReading.Part
Unit = ScriptReading.Unit
# A measure outside these bounds is a page left open or a glitch, not a reading.
LONGEST_SECONDS = 30 * 60
SHORTEST_READING = 1.0


def unit_for(language: str) -> str:
    return Unit.WORDS if language == Language.EN else Unit.CHARACTERS


def language_of(unit: str) -> str:
    return Language.EN if unit == Unit.WORDS else Language.ZH_HANS


def answer_pause() -> float:
    return float(getattr(settings, "WAIHU_ANSWER_PAUSE_SECONDS", 5))


def opening_texts(version) -> list[str]:
    return [
        version.greeting_salutation,
        version.greeting_introduction,
        version.transition_purpose,
        version.transition_cost,
    ]


def closing_texts(version, *, screened_out: bool) -> list[str]:
    # A screened-out customer hears only the thanks and the wishes.
    texts = [version.closing_thanks, version.closing_wishes]
    return texts if screened_out else [version.closing_summary, *texts]


def units_read(texts: list[str], values: dict, language: str) -> float:
    return sum(speech_units(placeholders_fill(text or "", values), language) for text in texts)


def question_texts(question: Question) -> list[str]:
    labels = Choice.objects.filter(question=question).values_list("label", flat=True)
    return [question.text, *labels]


def reading_record(
    *,
    interview: Interview,
    agent,
    part: str,
    texts: list[str],
    values: dict,
    seconds: float,
    question: Question | None = None,
    now: datetime.datetime | None = None,
) -> ScriptReading | None:
    """Keeps one measured stretch of reading; a measure that cannot be one is dropped."""
    if not (0 < seconds <= LONGEST_SECONDS):
        return None
    version = interview.response.version
    language = version.questionnaire.language
    units = units_read(texts, values, language)
    if units <= 0:
        return None
    answered = question is not None and question.type != QuestionType.STATEMENT
    pause = answer_pause() if answered else 0.0
    return ScriptReading.objects.create(
        interview=interview,
        agent=agent,
        question=question,
        part=part,
        unit=unit_for(language),
        units=units,
        seconds=seconds,
        reading_seconds=max(seconds - pause, SHORTEST_READING),
        recorded_at=now or timezone.now(),
    )


@dataclass(frozen=True)
class Pace:
    """Characters or words a minute, with the range the customer asks for."""

    per_minute: float
    unit: str
    slow: float
    fast: float
    units: float = 0.0
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.per_minute < self.slow:
            return "slow"
        if self.per_minute > self.fast:
            return "fast"
        return "ok"

    @property
    def verdict_label(self) -> str:
        return {"slow": _("too slow"), "fast": _("too fast"), "ok": _("on pace")}[self.verdict]

    @property
    def unit_label(self) -> str:
        return str(Unit(self.unit).label)

    def as_json(self) -> dict:
        return {
            "per_minute": round(self.per_minute),
            "unit": self.unit,
            "unit_label": self.unit_label,
            "slow": self.slow,
            "fast": self.fast,
            "verdict": self.verdict,
            "verdict_label": self.verdict_label,
        }


def pace_of(units: float, seconds: float, unit: str) -> Pace | None:
    if not seconds or seconds <= 0:
        return None
    target = speech_pace(language_of(unit))
    return Pace(units / seconds * 60, unit, target.slow, target.fast, units, seconds)


def pace_over(readings) -> Pace | None:
    """The pace over a queryset of readings (all in one unit: that of the most read)."""
    rows = list(
        readings.order_by()
        .values("unit")
        .annotate(units=Sum("units"), seconds=Sum("reading_seconds"))
        .order_by("-units")
    )
    if not rows:
        return None
    row = rows[0]
    return pace_of(row["units"], row["seconds"], row["unit"])


def last_reading_pace(interview: Interview) -> Pace | None:
    last = interview.readings.order_by("-recorded_at", "-id").first()
    return pace_of(last.units, last.reading_seconds, last.unit) if last else None
