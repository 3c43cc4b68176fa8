"""An answer as the preview, the agent console and the history of an interview show it."""

from django.utils.translation import gettext as _

from surveys.engine import AnswerValue, QuestionSpec
from surveys.models import QuestionType, Special


def answer_text(spec: QuestionSpec, value: AnswerValue, fill) -> str:
    """The answer in words: "don't know"/"refused", the chosen labels (placeholders filled by
    `fill`, with what the respondent specified), the number, or the text."""
    if value.special:
        return str(Special(value.special).label)
    if spec.type == QuestionType.STATEMENT:
        return _("(read out)")
    if value.choices:
        parts = []
        for code in sorted(value.choices):
            choice = spec.choice(code)
            label = fill(choice.label) if choice else str(code)
            extra = value.specify_text(code)
            parts.append(f"{label}: {extra}" if extra else label)
        return "; ".join(parts)
    if value.number is not None:
        return format(value.number.normalize(), "f")
    return value.text or _("(no answer)")
