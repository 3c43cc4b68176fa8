"""The interview engine: an immutable Script built from a version, and pure functions that say
which question comes next, walk a set of answers, and check an answer against its question.

Identity inside a Script is the question code (unique within a version). Jumps go forward
only: a rule that points at or behind its own question, or outside the script, is ignored
here (the checker reports it), so a walk always ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from surveys.models import (
    CHOICE_TYPES,
    NUMBER_TYPES,
    Action,
    Condition,
    Kind,
    Language,
    Mode,
    QuestionType,
    Special,
)

if TYPE_CHECKING:
    from surveys.models import QuestionnaireVersion

NPS_MIN = Decimal(0)
NPS_MAX = Decimal(10)
# Numbers are stored with 14 digits, 4 of them after the point.
NUMBER_LIMIT = Decimal(10) ** 10


class End(StrEnum):
    """Where a walk stops when no question is left to ask."""

    CLOSING = "closing"
    SCREEN_OUT = "screen_out"


class Outcome(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SCREENED_OUT = "screened_out"


@dataclass(frozen=True)
class ChoiceRef:
    """A choice named by a rule: the code of the question that owns it and its own code."""

    question: str
    code: int


@dataclass(frozen=True)
class ChoiceSpec:
    code: int
    label: str = ""
    keypad: str = ""
    exclusive: bool = False
    specify: bool = False
    id: int | None = None


@dataclass(frozen=True)
class RuleSpec:
    condition: str
    action: str
    choices: tuple[ChoiceRef, ...] = ()
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    special: str = ""
    target: str | None = None
    # Set when the target question belongs to another version of the questionnaire.
    target_elsewhere: bool = False
    id: int | None = None


@dataclass(frozen=True)
class QuestionSpec:
    code: str
    type: str
    text: str = ""
    instruction: str = ""
    required: bool = True
    allow_dont_know: bool = False
    allow_refused: bool = False
    confirms_identity: bool = False
    records_consent: bool = False
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    choices: tuple[ChoiceSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    id: int | None = None

    def choice(self, code: int) -> ChoiceSpec | None:
        for choice in self.choices:
            if choice.code == code:
                return choice
        return None

    @property
    def choice_codes(self) -> frozenset[int]:
        return frozenset(c.code for c in self.choices)

    @property
    def lower(self) -> Decimal | None:
        """The smallest number accepted (0 for a recommendation question)."""
        if self.type == QuestionType.NPS:
            return NPS_MIN
        return self.min_value

    @property
    def upper(self) -> Decimal | None:
        if self.type == QuestionType.NPS:
            return NPS_MAX
        return self.max_value


@dataclass(frozen=True)
class Parts:
    greeting_salutation: str = ""
    greeting_introduction: str = ""
    transition_purpose: str = ""
    transition_duration_minutes: int | None = None
    transition_cost: str = ""
    closing_summary: str = ""
    closing_thanks: str = ""
    closing_wishes: str = ""

    def texts(self, *, section: str | None = None) -> list[tuple[str, str]]:
        """(field name, text) of the parts' texts, optionally of one section only."""
        names = [
            "greeting_salutation",
            "greeting_introduction",
            "transition_purpose",
            "transition_cost",
            "closing_summary",
            "closing_thanks",
            "closing_wishes",
        ]
        return [
            (name, getattr(self, name))
            for name in names
            if section is None or name.startswith(section + "_")
        ]


@dataclass(frozen=True)
class Script:
    questions: tuple[QuestionSpec, ...]
    parts: Parts = Parts()
    name: str = ""
    language: str = Language.ZH_HANS
    mode: str = Mode.AGENT
    kind: str = Kind.SURVEY
    extra_placeholders: tuple[str, ...] = ()
    version_id: int | None = None
    _index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, question in enumerate(self.questions):
            index.setdefault(question.code, i)
        object.__setattr__(self, "_index", index)

    def index_of(self, code: str | None) -> int | None:
        if code is None:
            return None
        return self._index.get(code)

    def question(self, code: str) -> QuestionSpec:
        return self.questions[self._index[code]]

    @property
    def is_voice(self) -> bool:
        return self.mode == Mode.VOICE

    @property
    def is_marketing(self) -> bool:
        return self.kind == Kind.MARKETING


@dataclass(frozen=True)
class AnswerValue:
    """An answer as the engine sees it. All fields empty means no answer was given (a voice
    caller who pressed nothing, a skipped optional question, a statement that was read)."""

    choices: frozenset[int] = frozenset()
    number: Decimal | None = None
    text: str = ""
    special: str = ""
    specify: tuple[tuple[int, str], ...] = ()

    @classmethod
    def of_choices(cls, *codes: int, specify: Mapping[int, str] | None = None) -> AnswerValue:
        pairs = tuple(sorted((int(k), str(v)) for k, v in (specify or {}).items()))
        return cls(choices=frozenset(int(c) for c in codes), specify=pairs)

    @classmethod
    def of_number(cls, value: Decimal | int | float | str) -> AnswerValue:
        return cls(number=to_decimal(value))

    @classmethod
    def of_text(cls, value: str) -> AnswerValue:
        return cls(text=value)

    @classmethod
    def dont_know(cls) -> AnswerValue:
        return cls(special=Special.DONT_KNOW)

    @classmethod
    def refused(cls) -> AnswerValue:
        return cls(special=Special.REFUSED)

    @classmethod
    def missing(cls) -> AnswerValue:
        return cls()

    @property
    def is_missing(self) -> bool:
        return (
            not self.choices and self.number is None and not self.text.strip() and not self.special
        )

    def specify_text(self, code: int) -> str:
        return dict(self.specify).get(code, "")


def to_decimal(value: Decimal | int | float | str) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number."), code="not_a_number") from exc
    if not result.is_finite():
        raise ValidationError(_("Enter a number."), code="not_a_number")
    if abs(result) >= NUMBER_LIMIT:
        raise ValidationError(_("The number is too large."), code="number_too_large")
    if result != result.quantize(Decimal("0.0001")):
        raise ValidationError(
            _("Enter a number with at most four digits after the point."), code="number_precision"
        )
    return result


Step = QuestionSpec | End


@dataclass(frozen=True)
class Walk:
    """The result of walking a set of answers through a script.

    path: the codes of the questions reached, in the order asked; while the interview is in
    progress the last one is `current`, the question still to be answered.
    stale: codes of given answers that are not on the path (to be dropped)."""

    path: tuple[str, ...]
    current: str | None
    outcome: Outcome
    stale: frozenset[str]

    @property
    def answered(self) -> tuple[str, ...]:
        return self.path[:-1] if self.current is not None else self.path

    def previous(self, code: str) -> str | None:
        """The question asked before `code` on this path, if any."""
        if code not in self.path:
            return None
        i = self.path.index(code)
        return self.path[i - 1] if i > 0 else None


# --- building a Script from the database -------------------------------------------------


def script_build(version: QuestionnaireVersion) -> Script:
    """Load a version into a Script with a constant number of queries."""
    from surveys.models import Choice, Question, Rule

    questionnaire = version.questionnaire
    rules_qs = (
        Rule.objects.select_related("target")
        .prefetch_related(
            Prefetch("choices", queryset=Choice.objects.select_related("question").order_by("pk"))
        )
        .order_by("position", "pk")
    )
    questions = (
        Question.objects.filter(version_id=version.pk)
        .order_by("position", "pk")
        .prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position", "pk")),
            Prefetch("rules", queryset=rules_qs),
        )
    )
    specs = []
    for q in questions:
        rule_specs = []
        for r in q.rules.all():
            target = r.target
            rule_specs.append(
                RuleSpec(
                    condition=r.condition,
                    action=r.action,
                    choices=tuple(ChoiceRef(c.question.code, c.code) for c in r.choices.all()),
                    min_value=r.min_value,
                    max_value=r.max_value,
                    special=r.special,
                    target=target.code if target is not None else None,
                    target_elsewhere=target is not None and target.version_id != version.pk,
                    id=r.pk,
                )
            )
        specs.append(
            QuestionSpec(
                code=q.code,
                type=q.type,
                text=q.text,
                instruction=q.instruction,
                required=q.required,
                allow_dont_know=q.allow_dont_know,
                allow_refused=q.allow_refused,
                confirms_identity=q.confirms_identity,
                records_consent=q.records_consent,
                min_value=q.min_value,
                max_value=q.max_value,
                choices=tuple(
                    ChoiceSpec(
                        code=c.code,
                        label=c.label,
                        keypad=c.keypad,
                        exclusive=c.exclusive,
                        specify=c.specify,
                        id=c.pk,
                    )
                    for c in q.choices.all()
                ),
                rules=tuple(rule_specs),
                id=q.pk,
            )
        )
    return Script(
        questions=tuple(specs),
        parts=Parts(**{name: getattr(version, name) for name in version.PART_FIELDS}),
        name=questionnaire.name,
        language=questionnaire.language,
        mode=version.mode,
        kind=version.kind,
        extra_placeholders=tuple(version.extra_placeholders or ()),
        version_id=version.pk,
    )


# --- rules and the next step -------------------------------------------------------------


def rule_target_index(script: Script, index: int, rule: RuleSpec) -> int | None:
    """The index a go-to rule jumps to, or None when the jump is not a valid forward jump."""
    if rule.action != Action.GOTO or rule.target_elsewhere:
        return None
    target = script.index_of(rule.target)
    if target is None or target <= index:
        return None
    return target


def rule_is_usable(script: Script, index: int, rule: RuleSpec) -> bool:
    if rule.action == Action.GOTO:
        return rule_target_index(script, index, rule) is not None
    return rule.action in (Action.CLOSING, Action.SCREEN_OUT)


def rule_matches(question: QuestionSpec, rule: RuleSpec, value: AnswerValue) -> bool:
    """Whether the rule's condition holds for this answer to this question."""
    if question.type == QuestionType.STATEMENT:
        return rule.condition == Condition.ANY
    if value.is_missing:
        return False
    if rule.condition == Condition.ANY:
        return True
    if rule.condition == Condition.SPECIAL:
        if not value.special:
            return False
        return not rule.special or rule.special == value.special
    if value.special:
        return False
    if rule.condition in (Condition.CHOICE, Condition.ANY_OF):
        own = {ref.code for ref in rule.choices if ref.question == question.code}
        return bool(own & value.choices)
    if rule.condition == Condition.RANGE:
        if value.number is None:
            return False
        if rule.min_value is not None and value.number < rule.min_value:
            return False
        return not (rule.max_value is not None and value.number > rule.max_value)
    return False


def successor(script: Script, index: int, value: AnswerValue) -> int | End:
    """Where the interview goes after question `index` is answered with `value`: the first
    usable rule that matches wins; otherwise the next question by position, or the closing."""
    question = script.questions[index]
    for rule in question.rules:
        if not rule_is_usable(script, index, rule) or not rule_matches(question, rule, value):
            continue
        if rule.action == Action.CLOSING:
            return End.CLOSING
        if rule.action == Action.SCREEN_OUT:
            return End.SCREEN_OUT
        target = rule_target_index(script, index, rule)
        assert target is not None
        return target
    if index + 1 < len(script.questions):
        return index + 1
    return End.CLOSING


def walk(script: Script, answers: Mapping[str, AnswerValue]) -> Walk:
    """Follow the answers from the first question until one is unanswered or the script
    ends. Each step moves strictly forward, so the walk ends after at most n steps."""
    path: list[str] = []
    index: int | End = 0 if script.questions else End.CLOSING
    current: str | None = None
    while not isinstance(index, End):
        question = script.questions[index]
        path.append(question.code)
        if question.code not in answers:
            current = question.code
            break
        index = successor(script, index, answers[question.code])
    if current is not None:
        outcome = Outcome.IN_PROGRESS
    elif index == End.SCREEN_OUT:
        outcome = Outcome.SCREENED_OUT
    else:
        outcome = Outcome.COMPLETED
    on_path = set(path)
    stale = frozenset(code for code in answers if code not in on_path)
    return Walk(path=tuple(path), current=current, outcome=outcome, stale=stale)


def next_step(script: Script, answers: Mapping[str, AnswerValue]) -> Step:
    """The question to ask next, or End.CLOSING, or End.SCREEN_OUT."""
    result = walk(script, answers)
    if result.current is not None:
        return script.question(result.current)
    return End.SCREEN_OUT if result.outcome == Outcome.SCREENED_OUT else End.CLOSING


# --- checking one answer -----------------------------------------------------------------


def answer_validate(question: QuestionSpec, value: AnswerValue, *, mode: str) -> AnswerValue:
    """Check an answer against its question; return it tidied (text stripped) or raise a
    ValidationError listing what is wrong."""
    label = question.code
    if question.type == QuestionType.STATEMENT:
        return AnswerValue.missing()
    if value.special:
        if value.special not in Special.values:
            raise ValidationError(_("Unknown special answer."), code="special_unknown")
        if value.choices or value.number is not None or value.text.strip():
            raise ValidationError(
                _("%(q)s: “don't know” or “refused” cannot be combined with an answer.")
                % {"q": label},
                code="special_combined",
            )
        if value.special == Special.DONT_KNOW and not question.allow_dont_know:
            raise ValidationError(
                _("%(q)s does not accept “don't know”.") % {"q": label}, code="dk_not_allowed"
            )
        if value.special == Special.REFUSED and not question.allow_refused:
            raise ValidationError(
                _("%(q)s does not accept “refused”.") % {"q": label}, code="refused_not_allowed"
            )
        return AnswerValue(special=value.special)
    if value.is_missing:
        if question.required and mode != Mode.VOICE:
            raise ValidationError(
                _("%(q)s is required: give an answer.") % {"q": label}, code="required"
            )
        return AnswerValue.missing()
    errors: list[ValidationError] = []
    if question.type in CHOICE_TYPES:
        _check_choices(question, value, errors)
        if value.number is not None or value.text.strip():
            errors.append(
                ValidationError(
                    _("%(q)s takes choices only.") % {"q": label}, code="wrong_kind_of_answer"
                )
            )
        specify = tuple(
            (code, text.strip())
            for code, text in value.specify
            if code in value.choices and text.strip()
        )
        result = AnswerValue(choices=value.choices, specify=specify)
    elif question.type in NUMBER_TYPES:
        _check_number(question, value, errors)
        result = AnswerValue(number=value.number)
    else:
        if value.choices or value.number is not None:
            errors.append(
                ValidationError(
                    _("%(q)s takes a text answer only.") % {"q": label}, code="wrong_kind_of_answer"
                )
            )
        result = AnswerValue(text=value.text.strip())
    if errors:
        raise ValidationError(errors)
    return result


def _check_choices(question: QuestionSpec, value: AnswerValue, errors: list) -> None:
    label = question.code
    unknown = sorted(value.choices - question.choice_codes)
    if unknown:
        errors.append(
            ValidationError(
                _("%(q)s has no choice with code %(codes)s.")
                % {"q": label, "codes": ", ".join(str(c) for c in unknown)},
                code="choice_unknown",
            )
        )
        return
    if question.type != QuestionType.MULTIPLE and len(value.choices) > 1:
        errors.append(
            ValidationError(
                _("%(q)s accepts one choice only.") % {"q": label}, code="one_choice_only"
            )
        )
    if question.type == QuestionType.MULTIPLE and len(value.choices) > 1:
        for code in sorted(value.choices):
            choice = question.choice(code)
            if choice is not None and choice.exclusive:
                errors.append(
                    ValidationError(
                        _("%(q)s: “%(label)s” excludes the other choices; choose it alone.")
                        % {"q": label, "label": choice.label},
                        code="exclusive_combined",
                    )
                )
    for code, _text in value.specify:
        choice = question.choice(code)
        if choice is None or not choice.specify:
            errors.append(
                ValidationError(
                    _("%(q)s: choice %(code)s does not take a specified answer.")
                    % {"q": label, "code": code},
                    code="specify_not_allowed",
                )
            )


def _check_number(question: QuestionSpec, value: AnswerValue, errors: list) -> None:
    label = question.code
    if value.choices or value.text.strip():
        errors.append(
            ValidationError(
                _("%(q)s takes a number only.") % {"q": label}, code="wrong_kind_of_answer"
            )
        )
    number = value.number
    if number is None:
        errors.append(ValidationError(_("%(q)s: enter a number.") % {"q": label}, code="number"))
        return
    if question.type == QuestionType.NPS and number != number.to_integral_value():
        errors.append(
            ValidationError(
                _("%(q)s takes a whole number from 0 to 10.") % {"q": label}, code="nps_whole"
            )
        )
    if question.lower is not None and number < question.lower:
        errors.append(
            ValidationError(
                _("%(q)s: the number must be at least %(min)s.")
                % {"q": label, "min": _plain(question.lower)},
                code="below_min",
            )
        )
    if question.upper is not None and number > question.upper:
        errors.append(
            ValidationError(
                _("%(q)s: the number must be at most %(max)s.")
                % {"q": label, "max": _plain(question.upper)},
                code="above_max",
            )
        )


def _plain(number: Decimal) -> str:
    """A decimal without trailing zeros: 10.0000 -> 10."""
    return format(number.normalize(), "f")
