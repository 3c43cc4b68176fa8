"""Every write to questionnaires and interviews. Each service owns its transaction, checks
that the version it changes is still a draft, and raises ValidationError for bad input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from surveys import hooks
from surveys.checker import Finding, Level, check_version
from surveys.engine import AnswerValue, End, Outcome, Walk, answer_validate, script_build, walk
from surveys.engine import to_decimal as _to_decimal
from surveys.models import (
    CHOICE_TYPES,
    NUMBER_TYPES,
    Action,
    Answer,
    AnswerChoice,
    Choice,
    Condition,
    Kind,
    Language,
    Mode,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Response,
    ResponseStatus,
    Rule,
    Special,
    VersionStatus,
)
from surveys.placeholders import placeholder_name_is_valid
from surveys.presets import PRESETS, Preset


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Default of optional update arguments: the field is left as it is."""

Direction = Literal["up", "down"]
_SHIFT = 1_000_000
MAX_DURATION_MINUTES = 600


class PublishBlocked(ValidationError):
    """Publishing stopped by the checker; `findings` holds everything it found."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__([f.message for f in findings if f.level == Level.ERROR])


# --- helpers -----------------------------------------------------------------------------


def _frozen() -> ValidationError:
    return ValidationError(
        _("This version is published and can no longer be changed; start a new draft instead."),
        code="frozen",
    )


def _draft_lock(version_id: int) -> QuestionnaireVersion:
    """Lock the version row and make sure it is still a draft."""
    version = (
        QuestionnaireVersion.objects.select_for_update()
        .select_related("questionnaire")
        .get(pk=version_id)
    )
    if version.status != VersionStatus.DRAFT:
        raise _frozen()
    return version


def _decimal_or_none(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return _to_decimal(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages[0]}) from exc


def _renumber(model: type[models.Model], parent: dict[str, Any], ordered_ids: list[int]) -> None:
    """Give the rows positions 1..n in the given order. Everything is first moved far out
    of the way, so no statement ever meets a position another row still holds."""
    model.objects.filter(**parent).update(position=models.F("position") + _SHIFT)
    model.objects.bulk_update(
        [model(pk=pk, position=i) for i, pk in enumerate(ordered_ids, start=1)], ["position"]
    )


def _ordered_ids(model: type[models.Model], parent: dict[str, Any]) -> list[int]:
    return list(
        model.objects.filter(**parent).order_by("position", "pk").values_list("pk", flat=True)
    )


def _move(
    model: type[models.Model],
    parent: dict[str, Any],
    pk: int,
    *,
    to_position: int | None,
    direction: Direction | None,
) -> int:
    ids = _ordered_ids(model, parent)
    index = ids.index(pk)
    if (to_position is None) == (direction is None):
        raise ValidationError(_("Give either a position or a direction."), code="move_args")
    if direction is not None:
        if direction not in ("up", "down"):
            raise ValidationError(_("The direction must be up or down."), code="move_direction")
        new_index = index - 1 if direction == "up" else index + 1
    else:
        try:
            new_index = int(to_position) - 1
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                _("The position must be a whole number."), code="move_position"
            ) from exc
    new_index = max(0, min(len(ids) - 1, new_index))
    if new_index != index:
        ids.insert(new_index, ids.pop(index))
        _renumber(model, parent, ids)
    return new_index + 1


def _append_position(model: type[models.Model], parent: dict[str, Any]) -> int:
    return (model.objects.filter(**parent).aggregate(m=Max("position"))["m"] or 0) + 1


def _place(
    model: type[models.Model], parent: dict[str, Any], obj: models.Model, position: int | None
) -> None:
    if position is not None:
        _move(model, parent, obj.pk, to_position=position, direction=None)
        obj.refresh_from_db(fields=["position"])


def _check_choice_value(name: str, value: str, allowed: Iterable[str]) -> None:
    if value not in allowed:
        raise ValidationError({name: _("“%(value)s” is not a valid choice.") % {"value": value}})


def _next_code(version_id: int, *, prefix: str = "Q") -> str:
    used = set(Question.objects.filter(version_id=version_id).values_list("code", flat=True))
    n = len(used) + 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _check_code(version_id: int, code: str, *, exclude_pk: int | None = None) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("Give the question a code, such as Q1.")})
    if len(code) > 20:
        raise ValidationError({"code": _("A question code has at most 20 characters.")})
    clash = Question.objects.filter(version_id=version_id, code=code)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(
            {
                "code": _("Another question in this version already has the code %(code)s.")
                % {"code": code}
            }
        )
    return code


def _check_bounds(low: Decimal | None, high: Decimal | None) -> None:
    if low is not None and high is not None and low > high:
        raise ValidationError(
            {"max_value": _("The maximum must not be smaller than the minimum.")},
            code="min_gt_max",
        )


# --- questionnaires and versions ---------------------------------------------------------


def questionnaire_create(
    *,
    name: str,
    language: str = Language.ZH_HANS,
    mode: str = Mode.AGENT,
    kind: str = Kind.SURVEY,
    extra_placeholders: Iterable[str] = (),
    created_by: Any = None,
) -> QuestionnaireVersion:
    """A new questionnaire with an empty draft version 1, which is returned."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the questionnaire a name.")})
    _check_choice_value("language", language, Language.values)
    _check_choice_value("mode", mode, Mode.values)
    _check_choice_value("kind", kind, Kind.values)
    extra = _clean_extra_placeholders(extra_placeholders)
    with transaction.atomic():
        questionnaire = Questionnaire.objects.create(
            name=name, language=language, created_by=created_by
        )
        return QuestionnaireVersion.objects.create(
            questionnaire=questionnaire,
            number=1,
            mode=mode,
            kind=kind,
            extra_placeholders=extra,
            created_by=created_by,
        )


def questionnaire_rename(*, questionnaire: Questionnaire, name: str) -> Questionnaire:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the questionnaire a name.")})
    with transaction.atomic():
        Questionnaire.objects.filter(pk=questionnaire.pk).update(name=name)
    questionnaire.name = name
    return questionnaire


def _clean_extra_placeholders(names: Iterable[str]) -> list[str]:
    result: list[str] = []
    for raw in names:
        name = (raw or "").strip().strip("{}").strip()
        if not name:
            continue
        if not placeholder_name_is_valid(name):
            raise ValidationError(
                {
                    "extra_placeholders": _(
                        "“%(name)s” is not a valid placeholder name: use letters, digits and "
                        "underscores, starting with a letter."
                    )
                    % {"name": name}
                }
            )
        if name not in result:
            result.append(name)
    return result


def version_update_parts(
    *,
    version: QuestionnaireVersion,
    greeting_salutation: str = UNSET,
    greeting_introduction: str = UNSET,
    transition_purpose: str = UNSET,
    transition_duration_minutes: int | None = UNSET,
    transition_cost: str = UNSET,
    closing_summary: str = UNSET,
    closing_thanks: str = UNSET,
    closing_wishes: str = UNSET,
    mode: str = UNSET,
    kind: str = UNSET,
    extra_placeholders: Iterable[str] = UNSET,
) -> QuestionnaireVersion:
    """Change the four parts and the settings of a draft; arguments left out stay as they are."""
    changes: dict[str, Any] = {}
    for name, value in (
        ("greeting_salutation", greeting_salutation),
        ("greeting_introduction", greeting_introduction),
        ("transition_purpose", transition_purpose),
        ("transition_cost", transition_cost),
        ("closing_summary", closing_summary),
        ("closing_thanks", closing_thanks),
        ("closing_wishes", closing_wishes),
    ):
        if value is not UNSET:
            changes[name] = (value or "").strip()
    if transition_duration_minutes is not UNSET:
        minutes = transition_duration_minutes
        if minutes in ("", None):
            minutes = None
        else:
            try:
                minutes = int(minutes)
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    {"transition_duration_minutes": _("Enter a whole number of minutes.")}
                ) from exc
            if not 1 <= minutes <= MAX_DURATION_MINUTES:
                raise ValidationError(
                    {
                        "transition_duration_minutes": _(
                            "The promised duration must be between 1 and %(max)s minutes."
                        )
                        % {"max": MAX_DURATION_MINUTES}
                    }
                )
        changes["transition_duration_minutes"] = minutes
    if mode is not UNSET:
        _check_choice_value("mode", mode, Mode.values)
        changes["mode"] = mode
    if kind is not UNSET:
        _check_choice_value("kind", kind, Kind.values)
        changes["kind"] = kind
    if extra_placeholders is not UNSET:
        changes["extra_placeholders"] = _clean_extra_placeholders(extra_placeholders)
    with transaction.atomic():
        locked = _draft_lock(version.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
    for name, value in changes.items():
        setattr(version, name, value)
    return locked


def version_publish(*, version: QuestionnaireVersion, published_by: Any = None) -> list[Finding]:
    """Run the checker; publish when it finds no errors. Returns the warnings; raises
    PublishBlocked (a ValidationError carrying every finding) when there are errors."""
    with transaction.atomic():
        locked = _draft_lock(version.pk)
        findings = check_version(locked)
        if any(f.level == Level.ERROR for f in findings):
            raise PublishBlocked(findings)
        now = timezone.now()
        changed = QuestionnaireVersion.objects.filter(
            pk=locked.pk, status=VersionStatus.DRAFT
        ).update(status=VersionStatus.PUBLISHED, published_at=now, published_by=published_by)
        if changed != 1:
            raise _frozen()
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    version.published_by = published_by
    return findings


def version_new_draft(
    *, questionnaire: Questionnaire, created_by: Any = None
) -> QuestionnaireVersion:
    """Start editing a published questionnaire: copy its latest published version into a
    new draft. There is at most one draft per questionnaire."""
    with transaction.atomic():
        Questionnaire.objects.select_for_update().filter(pk=questionnaire.pk).first()
        versions = QuestionnaireVersion.objects.filter(questionnaire=questionnaire)
        draft = versions.filter(status=VersionStatus.DRAFT).first()
        if draft is not None:
            raise ValidationError(
                _("Version %(number)s is already a draft; edit it or discard it first.")
                % {"number": draft.number},
                code="draft_exists",
            )
        source = versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
        if source is None:
            raise ValidationError(
                _("This questionnaire has no published version to start from."),
                code="nothing_published",
            )
        number = (versions.aggregate(m=Max("number"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                target = _version_clone(
                    source, questionnaire=questionnaire, number=number, by=created_by
                )
        except IntegrityError as exc:
            # Another request opened the draft between our check and our insert.
            raise ValidationError(
                _("Another draft of this questionnaire was just started; edit that one."),
                code="draft_exists",
            ) from exc
    return target


def version_discard(*, version: QuestionnaireVersion) -> None:
    """Delete a draft version with everything in it."""
    with transaction.atomic():
        locked = _draft_lock(version.pk)
        Rule.choices.through.objects.filter(rule__question__version=locked).delete()
        Rule.objects.filter(question__version=locked).delete()
        Choice.objects.filter(question__version=locked).delete()
        Question.objects.filter(version=locked).delete()
        locked.delete()


def questionnaire_copy(
    *,
    questionnaire: Questionnaire,
    version: QuestionnaireVersion | None = None,
    name: str | None = None,
    created_by: Any = None,
) -> QuestionnaireVersion:
    """A new questionnaire whose draft version 1 copies the given version (by default the
    latest version, draft or published)."""
    if version is None:
        version = questionnaire.versions.order_by("-number").first()
        if version is None:
            raise ValidationError(_("This questionnaire has no version to copy."))
    elif version.questionnaire_id != questionnaire.pk:
        raise ValidationError(_("That version belongs to another questionnaire."))
    new_name = (name or "").strip() or _("%(name)s (copy)") % {"name": questionnaire.name}
    with transaction.atomic():
        copy = Questionnaire.objects.create(
            name=new_name, language=questionnaire.language, created_by=created_by
        )
        return _version_clone(version, questionnaire=copy, number=1, by=created_by)


def _version_clone(
    source: QuestionnaireVersion, *, questionnaire: Questionnaire, number: int, by: Any
) -> QuestionnaireVersion:
    target = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        number=number,
        created_by=by,
        **{name: getattr(source, name) for name in source.PART_FIELDS},
        mode=source.mode,
        kind=source.kind,
        extra_placeholders=list(source.extra_placeholders or []),
    )
    questions = list(source.questions.order_by("position", "pk"))
    question_map: dict[int, Question] = {}
    for q in questions:
        question_map[q.pk] = Question(
            version=target,
            **{f: getattr(q, f) for f in _QUESTION_FIELDS},
            position=q.position,
        )
    Question.objects.bulk_create(question_map.values())
    choices = list(Choice.objects.filter(question__version=source).order_by("position", "pk"))
    choice_map: dict[int, Choice] = {}
    for c in choices:
        choice_map[c.pk] = Choice(
            question=question_map[c.question_id],
            **{f: getattr(c, f) for f in _CHOICE_FIELDS},
            position=c.position,
        )
    Choice.objects.bulk_create(choice_map.values())
    _rules_clone(
        Rule.objects.filter(question__version=source).select_related("target"),
        question_map,
        choice_map,
        by_code={q.code: question_map[q.pk] for q in questions},
    )
    return target


_QUESTION_FIELDS = (
    "code",
    "type",
    "text",
    "instruction",
    "required",
    "allow_dont_know",
    "allow_refused",
    "confirms_identity",
    "records_consent",
    "min_value",
    "max_value",
)
_CHOICE_FIELDS = ("code", "label", "keypad", "exclusive", "specify")
_RULE_FIELDS = ("position", "condition", "min_value", "max_value", "special", "action")


def _rules_clone(
    rules: models.QuerySet[Rule],
    question_map: dict[int, Question],
    choice_map: dict[int, Choice],
    *,
    by_code: dict[str, Question] | None = None,
) -> None:
    """Copy rules onto the mapped questions; targets and choices follow the mapping."""
    rules = list(rules.prefetch_related("choices"))
    new_rules: list[tuple[Rule, Rule]] = []
    for r in rules:
        target = None
        if r.action == Action.GOTO:
            target = question_map.get(r.target_id)
            if target is None and by_code is not None and r.target is not None:
                target = by_code.get(r.target.code)
            if target is None:
                target = Question.objects.filter(pk=r.target_id).first()
        new = Rule(
            question=question_map[r.question_id],
            target=target,
            **{f: getattr(r, f) for f in _RULE_FIELDS},
        )
        new_rules.append((r, new))
    Rule.objects.bulk_create([new for _old, new in new_rules])
    links = []
    for old, new in new_rules:
        for choice in old.choices.all():
            mapped = choice_map.get(choice.pk, choice)
            links.append(Rule.choices.through(rule_id=new.pk, choice_id=mapped.pk))
    Rule.choices.through.objects.bulk_create(links)


# --- questions ---------------------------------------------------------------------------


def question_add(
    *,
    version: QuestionnaireVersion,
    type: str,
    code: str | None = None,
    text: str = "",
    instruction: str = "",
    required: bool | None = None,
    allow_dont_know: bool = False,
    allow_refused: bool = False,
    confirms_identity: bool = False,
    records_consent: bool = False,
    min_value: Decimal | int | str | None = None,
    max_value: Decimal | int | str | None = None,
    preset: str | None = None,
    position: int | None = None,
) -> Question:
    """Add a question (at the end, or at `position`). Yes/no questions get their two
    choices; a rating scale gets the preset's choices (five-point satisfaction by default).
    A question is required unless told otherwise, but a multiple choice is optional: a
    customer may have none of the things listed."""
    _check_choice_value("type", type, QuestionType.values)
    if required is None:
        required = type != QuestionType.MULTIPLE
    low = _decimal_or_none(min_value, "min_value")
    high = _decimal_or_none(max_value, "max_value")
    _check_bounds(low, high)
    if type == QuestionType.YES_NO and preset is None:
        preset = Preset.YES_NO
    if type == QuestionType.SCALE and preset is None:
        preset = Preset.SATISFACTION_5
    if preset is not None:
        _check_choice_value("preset", preset, Preset.values)
    with transaction.atomic():
        locked = _draft_lock(version.pk)
        code = _check_code(locked.pk, code) if code else _next_code(locked.pk)
        parent = {"version_id": locked.pk}
        question = Question.objects.create(
            version=locked,
            position=_append_position(Question, parent),
            code=code,
            type=type,
            text=(text or "").strip(),
            instruction=(instruction or "").strip(),
            required=required,
            allow_dont_know=allow_dont_know,
            allow_refused=allow_refused,
            confirms_identity=confirms_identity,
            records_consent=records_consent,
            min_value=low if type == QuestionType.NUMBER else None,
            max_value=high if type == QuestionType.NUMBER else None,
        )
        if preset is not None and type in CHOICE_TYPES:
            _preset_fill(question, preset, locked.questionnaire.language)
        _place(Question, parent, question, position)
    return question


def question_update(
    *,
    question: Question,
    type: str = UNSET,
    code: str = UNSET,
    text: str = UNSET,
    instruction: str = UNSET,
    required: bool = UNSET,
    allow_dont_know: bool = UNSET,
    allow_refused: bool = UNSET,
    confirms_identity: bool = UNSET,
    records_consent: bool = UNSET,
    min_value: Decimal | int | str | None = UNSET,
    max_value: Decimal | int | str | None = UNSET,
) -> Question:
    """Change a draft's question; arguments left out stay as they are. A question that
    changes to a type without choices loses its choices."""
    with transaction.atomic():
        _draft_lock(question.version_id)
        q = Question.objects.select_for_update().get(pk=question.pk)
        if type is not UNSET:
            _check_choice_value("type", type, QuestionType.values)
            q.type = type
        if code is not UNSET:
            q.code = _check_code(q.version_id, code, exclude_pk=q.pk)
        for name, value in (("text", text), ("instruction", instruction)):
            if value is not UNSET:
                setattr(q, name, (value or "").strip())
        for name, value in (
            ("required", required),
            ("allow_dont_know", allow_dont_know),
            ("allow_refused", allow_refused),
            ("confirms_identity", confirms_identity),
            ("records_consent", records_consent),
        ):
            if value is not UNSET:
                setattr(q, name, bool(value))
        if min_value is not UNSET:
            q.min_value = _decimal_or_none(min_value, "min_value")
        if max_value is not UNSET:
            q.max_value = _decimal_or_none(max_value, "max_value")
        if q.type != QuestionType.NUMBER:
            q.min_value = q.max_value = None
        _check_bounds(q.min_value, q.max_value)
        q.save()
        if q.type not in CHOICE_TYPES:
            Rule.choices.through.objects.filter(choice__question=q).delete()
            Choice.objects.filter(question=q).delete()
    return q


def question_move(
    *, question: Question, to_position: int | None = None, direction: Direction | None = None
) -> Question:
    """Move a question one step up or down, or to a position (1 = first)."""
    with transaction.atomic():
        _draft_lock(question.version_id)
        question.position = _move(
            Question,
            {"version_id": question.version_id},
            question.pk,
            to_position=to_position,
            direction=direction,
        )
    return question


def question_duplicate(*, question: Question) -> Question:
    """Copy a question with its choices and rules right after it, under a new code."""
    with transaction.atomic():
        version = _draft_lock(question.version_id)
        source = Question.objects.get(pk=question.pk)
        parent = {"version_id": version.pk}
        copy = Question.objects.create(
            version=version,
            position=_append_position(Question, parent),
            **{f: getattr(source, f) for f in _QUESTION_FIELDS if f != "code"},
            code=_next_code(version.pk),
        )
        choice_map: dict[int, Choice] = {}
        for c in source.choices.order_by("position", "pk"):
            choice_map[c.pk] = Choice(
                question=copy, position=c.position, **{f: getattr(c, f) for f in _CHOICE_FIELDS}
            )
        Choice.objects.bulk_create(choice_map.values())
        _rules_clone(
            Rule.objects.filter(question=source),
            {source.pk: copy},
            choice_map,
        )
        _place(Question, parent, copy, source.position + 1)
    return copy


@dataclass(frozen=True)
class QuestionDeleted:
    code: str
    rules_removed: int
    message: str


def question_delete(*, question: Question) -> QuestionDeleted:
    """Delete a draft's question with its choices and rules, and the other questions' rules
    that jump to it or name its choices."""
    with transaction.atomic():
        _draft_lock(question.version_id)
        q = Question.objects.get(pk=question.pk)
        pointing = Rule.objects.filter(target=q).exclude(question=q)
        naming = Rule.objects.filter(choices__question=q).exclude(question=q)
        doomed = set(pointing.values_list("pk", flat=True)) | set(
            naming.values_list("pk", flat=True)
        )
        own_rules = Rule.objects.filter(question=q)
        Rule.choices.through.objects.filter(rule_id__in=doomed).delete()
        Rule.choices.through.objects.filter(rule__question=q).delete()
        Rule.choices.through.objects.filter(choice__question=q).delete()
        Rule.objects.filter(pk__in=doomed).delete()
        own_rules.delete()
        Choice.objects.filter(question=q).delete()
        q.delete()
        parent = {"version_id": q.version_id}
        _renumber(Question, parent, _ordered_ids(Question, parent))
        _rules_renumber_all(q.version_id)
    if doomed:
        message = ngettext(
            "Question %(code)s was deleted, and %(count)d skip rule that pointed to it.",
            "Question %(code)s was deleted, and %(count)d skip rules that pointed to it.",
            len(doomed),
        ) % {"code": q.code, "count": len(doomed)}
    else:
        message = _("Question %(code)s was deleted.") % {"code": q.code}
    return QuestionDeleted(code=q.code, rules_removed=len(doomed), message=message)


def _rules_renumber_all(version_id: int) -> None:
    rows = Rule.objects.filter(question__version_id=version_id).order_by(
        "question_id", "position", "pk"
    )
    by_question: dict[int, list[int]] = {}
    for question_id, pk in rows.values_list("question_id", "pk"):
        by_question.setdefault(question_id, []).append(pk)
    for question_id, ids in by_question.items():
        current = list(
            Rule.objects.filter(question_id=question_id)
            .order_by("position", "pk")
            .values_list("position", flat=True)
        )
        if current != list(range(1, len(ids) + 1)):
            _renumber(Rule, {"question_id": question_id}, ids)


# --- choices -----------------------------------------------------------------------------


def _check_keypad(keypad: str) -> str:
    keypad = (keypad or "").strip()
    if keypad and (len(keypad) != 1 or not keypad.isdigit()):
        raise ValidationError({"keypad": _("The keypad digit must be a single digit 0-9.")})
    return keypad


def _choice_question_lock(question_id: int) -> Question:
    question = Question.objects.select_related("version__questionnaire").get(pk=question_id)
    _draft_lock(question.version_id)
    if question.type not in CHOICE_TYPES:
        raise ValidationError(
            _("Question %(code)s does not take choices.") % {"code": question.code},
            code="no_choices_here",
        )
    return question


def _check_choice_code(question: Question, code: Any, *, exclude_pk: int | None = None) -> int:
    try:
        code = int(code)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"code": _("A choice code is a whole number.")}) from exc
    clash = Choice.objects.filter(question=question, code=code)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(
            {
                "code": _("Question %(q)s already has a choice with code %(code)s.")
                % {"q": question.code, "code": code}
            }
        )
    return code


def choice_add(
    *,
    question: Question,
    label: str,
    code: int | None = None,
    keypad: str = "",
    exclusive: bool = False,
    specify: bool = False,
    position: int | None = None,
) -> Choice:
    """Add a choice (at the end, or at `position`); the code defaults to the next free one."""
    with transaction.atomic():
        q = _choice_question_lock(question.pk)
        if code is None:
            code = (q.choices.aggregate(m=Max("code"))["m"] or 0) + 1
        else:
            code = _check_choice_code(q, code)
        parent = {"question_id": q.pk}
        choice = Choice.objects.create(
            question=q,
            position=_append_position(Choice, parent),
            code=code,
            label=(label or "").strip(),
            keypad=_check_keypad(keypad),
            exclusive=bool(exclusive),
            specify=bool(specify),
        )
        _place(Choice, parent, choice, position)
    return choice


def choice_update(
    *,
    choice: Choice,
    label: str = UNSET,
    code: int = UNSET,
    keypad: str = UNSET,
    exclusive: bool = UNSET,
    specify: bool = UNSET,
) -> Choice:
    with transaction.atomic():
        q = _choice_question_lock(choice.question_id)
        c = Choice.objects.select_for_update().get(pk=choice.pk)
        if label is not UNSET:
            c.label = (label or "").strip()
        if code is not UNSET:
            c.code = _check_choice_code(q, code, exclude_pk=c.pk)
        if keypad is not UNSET:
            c.keypad = _check_keypad(keypad)
        if exclusive is not UNSET:
            c.exclusive = bool(exclusive)
        if specify is not UNSET:
            c.specify = bool(specify)
        c.save()
    return c


def choice_move(
    *, choice: Choice, to_position: int | None = None, direction: Direction | None = None
) -> Choice:
    with transaction.atomic():
        _choice_question_lock(choice.question_id)
        choice.position = _move(
            Choice,
            {"question_id": choice.question_id},
            choice.pk,
            to_position=to_position,
            direction=direction,
        )
    return choice


def choice_delete(*, choice: Choice) -> int:
    """Delete a choice; returns how many skip rules named it (they stay, without it, and
    the checker reports any left with no choice)."""
    with transaction.atomic():
        _choice_question_lock(choice.question_id)
        links = Rule.choices.through.objects.filter(choice_id=choice.pk)
        count = links.count()
        links.delete()
        Choice.objects.filter(pk=choice.pk).delete()
        parent = {"question_id": choice.question_id}
        _renumber(Choice, parent, _ordered_ids(Choice, parent))
    return count


class ChoicesInvalid(ValidationError):
    """The question's choices were not saved: `rows` holds each row's errors by the key it
    came with, field by field (None for the row as a whole)."""

    def __init__(self, rows: dict[Any, dict[str | None, list[str]]]) -> None:
        self.rows = rows
        super().__init__(
            [message for fields in rows.values() for texts in fields.values() for message in texts]
        )


@dataclass(frozen=True)
class ChoiceRow:
    """One row of a question's choices as the editor sends them, in their new order: `pk`
    of the choice it edits (None for a new one), `delete` to remove it; `key` comes back
    with the row's errors."""

    key: Any
    pk: int | None
    label: str
    code: int | None = None
    keypad: str = ""
    exclusive: bool = False
    specify: bool = False
    delete: bool = False


@dataclass(frozen=True)
class ChoicesSaved:
    added: int
    changed: int
    deleted: int
    # Skip rules that tested a deleted choice (they stay, without it, for the checker).
    rules_named: int


def question_choices_save(*, question: Question, rows: list[ChoiceRow]) -> ChoicesSaved:
    """All of a question's choices saved together, in the order given, in one transaction:
    labels, codes and keypad digits changed, new choices added, choices deleted. Nothing is
    saved unless every row is valid: every label given, codes unique, and no choice deleted
    that answers chose. Choices not among the rows (added meanwhile by someone else) stay,
    after the others."""
    errors: dict[Any, dict[str | None, list[str]]] = {}

    def fail(row: ChoiceRow, field: str | None, message: str) -> None:
        errors.setdefault(row.key, {}).setdefault(field, []).append(message)

    with transaction.atomic():
        q = _choice_question_lock(question.pk)
        current = {c.pk: c for c in Choice.objects.select_for_update().filter(question=q)}
        seen: set[int] = set()
        kept: list[ChoiceRow] = []
        deleted: list[ChoiceRow] = []
        for row in rows:
            if row.pk is not None and (row.pk not in current or row.pk in seen):
                fail(row, None, _("This choice was deleted meanwhile; reload the page."))
                continue
            if row.pk is not None:
                seen.add(row.pk)
            if row.delete:
                if row.pk is not None:
                    deleted.append(row)
                continue
            kept.append(row)
        untouched = [c for pk, c in current.items() if pk not in seen]
        if deleted:
            chosen = set(
                AnswerChoice.objects.filter(choice_id__in=[r.pk for r in deleted])
                .values_list("choice_id", flat=True)
                .distinct()
            )
            for row in deleted:
                if row.pk in chosen:
                    fail(
                        row,
                        None,
                        _(
                            "Choice “%(label)s” cannot be deleted: answers have chosen it. "
                            "Change its label instead."
                        )
                        % {"label": current[row.pk].label},
                    )
        codes: dict[int, ChoiceRow] = {c.code: c for c in untouched}
        for row in kept:
            if not (row.label or "").strip():
                fail(row, "label", _("Give the choice a label."))
            try:
                _check_keypad(row.keypad)
            except ValidationError as error:
                fail(row, "keypad", error.message_dict["keypad"][0])
            if row.code is None:
                continue
            if row.code in codes:
                fail(
                    row,
                    "code",
                    _("Code %(code)s is already used by another choice of this question.")
                    % {"code": row.code},
                )
            else:
                codes[row.code] = row
        if errors:
            raise ChoicesInvalid(errors)
        # A new row without a code takes the next free one, in order.
        next_code = max(codes, default=0) + 1
        final: list[tuple[ChoiceRow, int]] = []
        for row in kept:
            if row.code is None:
                final.append((row, next_code))
                next_code += 1
            else:
                final.append((row, row.code))
        links = Rule.choices.through.objects.filter(choice_id__in=[r.pk for r in deleted])
        rules_named = links.count()
        links.delete()
        Choice.objects.filter(pk__in=[r.pk for r in deleted]).delete()
        # Codes and positions are unique per question and checked row by row, so the rows
        # kept first step aside: changed codes to values nobody holds, positions far out.
        changed_codes = [
            (row, code) for row, code in final if row.pk and current[row.pk].code != code
        ]
        if changed_codes:
            lowest = min([c.code for c in current.values()] + [code for _row, code in final])
            Choice.objects.bulk_update(
                [
                    Choice(pk=row.pk, code=lowest - index)
                    for index, (row, _code) in enumerate(changed_codes, start=1)
                ],
                ["code"],
            )
        Choice.objects.filter(question=q).update(position=models.F("position") + _SHIFT)
        changed, created = 0, []
        for position, (row, code) in enumerate(final, start=1):
            values = {
                "position": position,
                "code": code,
                "label": row.label.strip(),
                "keypad": row.keypad.strip(),
                "exclusive": bool(row.exclusive),
                "specify": bool(row.specify),
            }
            if row.pk is None:
                created.append(Choice(question=q, **values))
                continue
            choice = current[row.pk]
            if any(
                getattr(choice, name) != value
                for name, value in values.items()
                if name != "position"
            ):
                changed += 1
            for name, value in values.items():
                setattr(choice, name, value)
        kept_choices = [current[row.pk] for row, _code in final if row.pk is not None]
        for position, choice in enumerate(untouched, start=len(final) + 1):
            choice.position = position
        Choice.objects.bulk_update(
            kept_choices + untouched,
            ["position", "code", "label", "keypad", "exclusive", "specify"],
        )
        Choice.objects.bulk_create(created)
    return ChoicesSaved(
        added=len(created), changed=changed, deleted=len(deleted), rules_named=rules_named
    )


def question_apply_preset(*, question: Question, preset: str) -> list[Choice]:
    """Replace the question's choices with a built-in scale, labelled in the
    questionnaire's language."""
    _check_choice_value("preset", preset, Preset.values)
    with transaction.atomic():
        q = _choice_question_lock(question.pk)
        Rule.choices.through.objects.filter(choice__question=q).delete()
        Choice.objects.filter(question=q).delete()
        return _preset_fill(q, preset, q.version.questionnaire.language)


def _preset_fill(question: Question, preset: str, language: str) -> list[Choice]:
    return Choice.objects.bulk_create(
        [
            Choice(
                question=question,
                position=i,
                code=item.code,
                label=item.label(language),
                keypad=item.keypad,
            )
            for i, item in enumerate(PRESETS[preset], start=1)
        ]
    )


# --- skip rules --------------------------------------------------------------------------


def rule_validate_fields(
    question: Question,
    *,
    condition: str,
    action: str,
    choices: list[Choice],
    min_value: Decimal | None,
    max_value: Decimal | None,
    special: str,
    target: Question | None,
) -> None:
    _check_choice_value("condition", condition, Condition.values)
    _check_choice_value("action", action, Action.values)
    if special:
        _check_choice_value("special", special, Special.values)
    if condition in (Condition.CHOICE, Condition.ANY_OF):
        if question.type not in CHOICE_TYPES:
            raise ValidationError(
                {"condition": _("Question %(q)s has no choices to test.") % {"q": question.code}}
            )
        if not choices:
            raise ValidationError({"choices": _("Pick the choices this rule tests.")})
        if condition == Condition.CHOICE and len(choices) != 1:
            raise ValidationError({"choices": _("Pick one choice, or use “any of these choices”.")})
        if any(c.question_id != question.pk for c in choices):
            raise ValidationError(
                {"choices": _("A rule can only test choices of its own question.")}
            )
    elif choices:
        raise ValidationError({"choices": _("Only choice conditions take choices.")})
    if condition == Condition.RANGE:
        if question.type not in NUMBER_TYPES:
            raise ValidationError(
                {"condition": _("Question %(q)s does not take a number.") % {"q": question.code}}
            )
        if min_value is None and max_value is None:
            raise ValidationError({"min_value": _("Give at least one end of the range.")})
        _check_bounds(min_value, max_value)
    elif min_value is not None or max_value is not None:
        raise ValidationError({"min_value": _("Only a range condition takes numbers.")})
    if condition != Condition.SPECIAL and special:
        raise ValidationError({"special": _("Only a don't know/refused condition takes this.")})
    if action == Action.GOTO:
        if target is None:
            raise ValidationError({"target": _("Pick the question to go to.")})
        if target.version_id != question.version_id:
            raise ValidationError({"target": _("The question to go to is in another version.")})
        if target.position <= question.position:
            raise ValidationError(
                {
                    "target": _("A rule can only jump forward, to a question after %(q)s.")
                    % {"q": question.code}
                }
            )
    elif target is not None:
        raise ValidationError({"target": _("Only “go to question” takes a target.")})


def rule_add(
    *,
    question: Question,
    condition: str,
    action: str,
    choices: Iterable[Choice] = (),
    min_value: Decimal | int | str | None = None,
    max_value: Decimal | int | str | None = None,
    special: str = "",
    target: Question | None = None,
    position: int | None = None,
) -> Rule:
    """Add a skip rule to a question (last, or at `position`: the first match wins)."""
    choices = list(choices)
    low = _decimal_or_none(min_value, "min_value")
    high = _decimal_or_none(max_value, "max_value")
    with transaction.atomic():
        _draft_lock(question.version_id)
        q = Question.objects.get(pk=question.pk)
        fresh_target = Question.objects.get(pk=target.pk) if target is not None else None
        rule_validate_fields(
            q,
            condition=condition,
            action=action,
            choices=choices,
            min_value=low,
            max_value=high,
            special=special or "",
            target=fresh_target,
        )
        parent = {"question_id": q.pk}
        rule = Rule.objects.create(
            question=q,
            position=_append_position(Rule, parent),
            condition=condition,
            action=action,
            min_value=low,
            max_value=high,
            special=special or "",
            target=fresh_target,
        )
        rule.choices.set(choices)
        _place(Rule, parent, rule, position)
    return rule


def rule_update(
    *,
    rule: Rule,
    condition: str = UNSET,
    action: str = UNSET,
    choices: Iterable[Choice] = UNSET,
    min_value: Decimal | int | str | None = UNSET,
    max_value: Decimal | int | str | None = UNSET,
    special: str = UNSET,
    target: Question | None = UNSET,
) -> Rule:
    with transaction.atomic():
        r = Rule.objects.select_related("question").get(pk=rule.pk)
        _draft_lock(r.question.version_id)
        if condition is not UNSET:
            r.condition = condition
        if action is not UNSET:
            r.action = action
        if min_value is not UNSET:
            r.min_value = _decimal_or_none(min_value, "min_value")
        if max_value is not UNSET:
            r.max_value = _decimal_or_none(max_value, "max_value")
        if special is not UNSET:
            r.special = special or ""
        if target is not UNSET:
            r.target = Question.objects.get(pk=target.pk) if target is not None else None
        new_choices = list(r.choices.all()) if choices is UNSET else list(choices)
        rule_validate_fields(
            r.question,
            condition=r.condition,
            action=r.action,
            choices=new_choices,
            min_value=r.min_value,
            max_value=r.max_value,
            special=r.special,
            target=r.target,
        )
        r.save()
        r.choices.set(new_choices)
    return r


def rule_delete(*, rule: Rule) -> None:
    with transaction.atomic():
        r = Rule.objects.select_related("question").get(pk=rule.pk)
        _draft_lock(r.question.version_id)
        r.choices.clear()
        r.delete()
        parent = {"question_id": r.question_id}
        _renumber(Rule, parent, _ordered_ids(Rule, parent))


def rule_move(
    *, rule: Rule, to_position: int | None = None, direction: Direction | None = None
) -> Rule:
    with transaction.atomic():
        r = Rule.objects.select_related("question").get(pk=rule.pk)
        _draft_lock(r.question.version_id)
        rule.position = _move(
            Rule, {"question_id": r.question_id}, r.pk, to_position=to_position, direction=direction
        )
    return rule


# --- interviews --------------------------------------------------------------------------


def _answers_load(response: Response) -> dict[str, AnswerValue]:
    answers = (
        Answer.objects.filter(response=response)
        .select_related("question")
        .prefetch_related("selected__choice")
    )
    result: dict[str, AnswerValue] = {}
    for a in answers:
        picked = list(a.selected.all())
        result[a.question.code] = AnswerValue(
            choices=frozenset(s.choice.code for s in picked),
            number=a.number,
            text=a.text,
            special=a.special,
            specify=tuple(
                sorted((s.choice.code, s.specify_text) for s in picked if s.specify_text)
            ),
        )
    return result


def response_answers(*, response: Response) -> dict[str, AnswerValue]:
    """The answers of a response, keyed by question code, as the engine sees them."""
    return _answers_load(response)


def response_start(
    *, version: QuestionnaireVersion, reference: str = "", created_by: Any = None
) -> Response:
    """Begin an interview with a published version, at its first question."""
    if version.status != VersionStatus.PUBLISHED:
        raise ValidationError(
            _("Interviews can only use a published version."), code="not_published"
        )
    first = Question.objects.filter(version=version).order_by("position", "pk").first()
    with transaction.atomic():
        changed = hooks.response_changing(version_id=version.pk, response_id=None)
        response = Response.objects.create(
            version=version,
            started_at=timezone.now(),
            current_question=first,
            reference=reference or "",
            created_by=created_by,
        )
        changed(response.pk)
    return response


def _response_lock(response: Response, *, ended_ok: bool = False) -> Response:
    """The response, locked; refused once it has ended, unless `ended_ok` (going back from
    the closing or a screen-out reopens it). Only the response's own row: its version and
    questionnaire are read with it but shared by every interview, and locking them would
    make all interviews of a questionnaire wait for one another."""
    locked = (
        Response.objects.select_for_update(of=("self",))
        .select_related("version__questionnaire")
        .get(pk=response.pk)
    )
    allowed = {ResponseStatus.IN_PROGRESS}
    if ended_ok:
        allowed |= {ResponseStatus.COMPLETED, ResponseStatus.SCREENED_OUT}
    if locked.status not in allowed:
        raise ValidationError(_("This interview has already ended."), code="response_ended")
    return locked


def _status_for(outcome: Outcome) -> str:
    return {
        Outcome.COMPLETED: ResponseStatus.COMPLETED,
        Outcome.SCREENED_OUT: ResponseStatus.SCREENED_OUT,
    }.get(outcome, ResponseStatus.IN_PROGRESS)


def response_answer(*, response: Response, question: Question, value: AnswerValue) -> Walk:
    """Record the answer to a question on the interview's path (the current one, or one
    asked earlier), drop answers the new path no longer reaches, and move on. When the walk
    ends the response is completed or screened out."""
    with transaction.atomic():
        locked = _response_lock(response)
        if question.version_id != locked.version_id:
            raise ValidationError(_("That question is not in this questionnaire."))
        changed = hooks.response_changing(version_id=locked.version_id, response_id=locked.pk)
        script = script_build(locked.version)
        answers = _answers_load(locked)
        before = walk(script, answers)
        if question.code not in before.path:
            raise ValidationError(
                _("Question %(code)s is not on this interview's path.") % {"code": question.code},
                code="not_on_path",
            )
        clean = answer_validate(script.question(question.code), value, mode=script.mode)
        answers[question.code] = clean
        after = walk(script, answers)
        _answer_save(locked, question, clean, script)
        if after.stale:
            stale = Answer.objects.filter(response=locked, question__code__in=after.stale)
            AnswerChoice.objects.filter(answer__in=stale).delete()
            stale.delete()
        now = timezone.now()
        status = _status_for(after.outcome)
        current = None
        if after.current is not None:
            current = Question.objects.get(version_id=locked.version_id, code=after.current)
        updated = Response.objects.filter(pk=locked.pk, status=ResponseStatus.IN_PROGRESS).update(
            status=status,
            current_question=current,
            finished_at=None if status == ResponseStatus.IN_PROGRESS else now,
        )
        if updated != 1:
            raise ValidationError(_("This interview has already ended."), code="response_ended")
        changed(locked.pk)
    response.status = status
    response.current_question = current
    response.finished_at = None if status == ResponseStatus.IN_PROGRESS else now
    return after


def _answer_save(response: Response, question: Question, value: AnswerValue, script) -> None:
    now = timezone.now()
    answer, _created = Answer.objects.update_or_create(
        response=response,
        question=question,
        defaults={
            "number": value.number,
            "text": value.text,
            "special": value.special,
            "answered_at": now,
        },
    )
    AnswerChoice.objects.filter(answer=answer).delete()
    if value.choices:
        spec = script.question(question.code)
        ids = {c.code: c.id for c in spec.choices}
        AnswerChoice.objects.bulk_create(
            [
                AnswerChoice(
                    answer=answer,
                    question=question,
                    choice_id=ids[code],
                    specify_text=value.specify_text(code)[:500],
                )
                for code in sorted(value.choices)
            ]
        )


def response_back(*, response: Response) -> Response:
    """Step back to the question asked before the current one; its answer is kept so it can
    be shown and changed."""
    with transaction.atomic():
        locked = _response_lock(response, ended_ok=True)
        changed = hooks.response_changing(version_id=locked.version_id, response_id=locked.pk)
        script = script_build(locked.version)
        result = walk(script, _answers_load(locked))
        here = locked.current_question.code if locked.current_question else result.current
        ended = (
            locked.status in (ResponseStatus.COMPLETED, ResponseStatus.SCREENED_OUT)
            and result.outcome != Outcome.IN_PROGRESS
            and bool(result.path)
        )
        # From the closing or a screen-out, back to the last question asked: the interview
        # opens again until that answer is given anew.
        previous = result.path[-1] if ended else (result.previous(here) if here else None)
        if previous is None:
            raise ValidationError(_("This is the first question."), code="at_start")
        target = Question.objects.get(version_id=locked.version_id, code=previous)
        reopenable = [ResponseStatus.IN_PROGRESS]
        if ended:
            reopenable += [ResponseStatus.COMPLETED, ResponseStatus.SCREENED_OUT]
        Response.objects.filter(pk=locked.pk, status__in=reopenable).update(
            current_question=target, status=ResponseStatus.IN_PROGRESS, finished_at=None
        )
        changed(locked.pk)
    response.current_question = target
    response.status = ResponseStatus.IN_PROGRESS
    response.finished_at = None
    return response


def response_finish(*, response: Response, status: str | None = None) -> Response:
    """End an interview. Without a status it becomes completed or screened out when its walk
    has ended, partial when some questions were answered, else abandoned."""
    with transaction.atomic():
        locked = _response_lock(response)
        changed = hooks.response_changing(version_id=locked.version_id, response_id=locked.pk)
        script = script_build(locked.version)
        answers = _answers_load(locked)
        result = walk(script, answers)
        if status is None:
            if result.outcome != Outcome.IN_PROGRESS:
                status = _status_for(result.outcome)
            else:
                status = ResponseStatus.PARTIAL if answers else ResponseStatus.ABANDONED
        if status not in ResponseStatus.values or status == ResponseStatus.IN_PROGRESS:
            raise ValidationError(_("Choose how the interview ended."), code="bad_status")
        if status in (ResponseStatus.COMPLETED, ResponseStatus.SCREENED_OUT) and (
            _status_for(result.outcome) != status
        ):
            raise ValidationError(
                _("The interview has not reached its end; it can only be partial or abandoned."),
                code="not_finished",
            )
        now = timezone.now()
        updated = Response.objects.filter(pk=locked.pk, status=ResponseStatus.IN_PROGRESS).update(
            status=status, finished_at=now, current_question=None
        )
        if updated != 1:
            raise ValidationError(_("This interview has already ended."), code="response_ended")
        changed(locked.pk)
    response.status = status
    response.finished_at = now
    response.current_question = None
    return response


__all__ = [
    "UNSET",
    "End",
    "PublishBlocked",
    "QuestionDeleted",
    "choice_add",
    "choice_delete",
    "choice_move",
    "choice_update",
    "question_add",
    "question_apply_preset",
    "question_delete",
    "question_duplicate",
    "question_move",
    "question_update",
    "questionnaire_copy",
    "questionnaire_create",
    "questionnaire_rename",
    "response_answer",
    "response_answers",
    "response_back",
    "response_finish",
    "response_start",
    "rule_add",
    "rule_delete",
    "rule_move",
    "rule_update",
    "version_discard",
    "version_new_draft",
    "version_publish",
    "version_update_parts",
]
