"""A questionnaire version as an Excel workbook a person can read and edit, and back.

Four sheets, always in this order: the questionnaire (its parts and settings, one per row),
the questions, the choices, the skip rules. Sheets and columns are read by position, so
their titles may be in any language; the first row of each sheet is its header. An import
with any bad row imports nothing and reports every bad row."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from config.workbooks import print_setup
from surveys.engine import to_decimal
from surveys.models import (
    CHOICE_TYPES,
    KEYPAD_DIGITS,
    Choice,
    Kind,
    Language,
    Mode,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Rule,
    VersionStatus,
)
from surveys.placeholders import placeholder_name_is_valid
from surveys.services import rule_validate_fields
from surveys.workbook_safety import cells_as_text, unreadable, workbook_check

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SETTING_KEYS = ("name", "language", "mode", "kind", "extra_placeholders")
PART_KEYS = QuestionnaireVersion.PART_FIELDS
QUESTION_COLUMNS = (
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
CHOICE_COLUMNS = ("question", "code", "label", "keypad", "exclusive", "specify")
RULE_COLUMNS = (
    "question",
    "condition",
    "choices",
    "min_value",
    "max_value",
    "special",
    "action",
    "target",
)
TRUE_WORDS = {"1", "true", "yes", "y", "x", "是", "真"}
FALSE_WORDS = {"", "0", "false", "no", "n", "否", "假"}


def _sheet_titles() -> list[str]:
    return [_("Questionnaire"), _("Questions"), _("Choices"), _("Rules")]


def _key_descriptions() -> dict[str, str]:
    return {
        "name": _("Name of the questionnaire"),
        "language": _("Language: zh-hans or en"),
        "mode": _("agent (call agents) or voice (automated voice survey)"),
        "kind": _("survey or marketing"),
        "extra_placeholders": _("Extra placeholder names, separated by commas"),
        "greeting_salutation": _("Greeting: salutation"),
        "greeting_introduction": _("Greeting: self-introduction"),
        "transition_purpose": _("Transition: purpose of the call"),
        "transition_duration_minutes": _("Transition: promised duration in minutes"),
        "transition_cost": _("Transition: cost or reward"),
        "closing_summary": _("Closing: summary"),
        "closing_thanks": _("Closing: thanks"),
        "closing_wishes": _("Closing: good wishes"),
    }


def _headers() -> dict[str, list[tuple[str, int]]]:
    """(header, column width) of each sheet."""
    return {
        "settings": [(_("Field"), 30), (_("Value"), 70), (_("Description"), 50)],
        "questions": [
            (_("Code"), 10),
            (_("Type"), 12),
            (_("Text read aloud"), 60),
            (_("Interviewer instruction"), 40),
            (_("Required"), 10),
            (_("Don't know allowed"), 12),
            (_("Refused allowed"), 12),
            (_("Confirms identity"), 12),
            (_("Records consent"), 12),
            (_("Minimum"), 10),
            (_("Maximum"), 10),
        ],
        "choices": [
            (_("Question"), 10),
            (_("Code"), 8),
            (_("Label"), 40),
            (_("Keypad digit"), 10),
            (_("Exclusive"), 10),
            (_("Please specify"), 12),
        ],
        "rules": [
            (_("Question"), 10),
            (_("Condition"), 12),
            (_("Choice codes"), 14),
            (_("From"), 10),
            (_("To"), 10),
            (_("Don't know / refused"), 14),
            (_("Action"), 12),
            (_("Go to question"), 14),
        ],
    }


# --- export ------------------------------------------------------------------------------


def _number(value: Decimal | None) -> Any:
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# Question types as people write them in a workbook: the code (single), the name the
# designer and the codebook show in either language (单选题, Single choice), or a usual
# Chinese name for it.
_TYPE_SYNONYMS = {
    "单选": QuestionType.SINGLE,
    "多选": QuestionType.MULTIPLE,
    "量表题": QuestionType.SCALE,
    "评分题": QuestionType.SCALE,
    "打分题": QuestionType.SCALE,
    "满意度题": QuestionType.SCALE,
    "推荐度": QuestionType.NPS,
    "推荐题": QuestionType.NPS,
    "是非题": QuestionType.YES_NO,
    "判断题": QuestionType.YES_NO,
    "数值题": QuestionType.NUMBER,
    "开放题": QuestionType.TEXT,
    "问答题": QuestionType.TEXT,
    "填空题": QuestionType.TEXT,
    "说明": QuestionType.STATEMENT,
}


@functools.cache
def _type_names() -> dict[str, str]:
    """Built once: the names come from the catalogue, which does not change while Waihu
    runs, in both languages whatever the reader's."""
    names = {value.casefold(): value for value in QuestionType.values}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            names.update({str(label).casefold(): value for value, label in QuestionType.choices})
    names.update({name.casefold(): value for name, value in _TYPE_SYNONYMS.items()})
    return names


def question_type_of(text: str) -> str:
    """The type code a workbook's type cell names, or the text as it was when it names none
    (the import then says so)."""
    return _type_names().get((text or "").strip().casefold(), text)


def type_names() -> list[str]:
    """The types as a workbook may name them, for an error message: codes and names."""
    shown = []
    for value, label in QuestionType.choices:
        shown.append(f"{value} ({label})")
    return shown


def _new_workbook() -> tuple[Workbook, list]:
    """A workbook with the four sheets an import reads, headed and laid out."""
    workbook = Workbook()
    titles = _sheet_titles()
    headers = _headers()
    sheets = [workbook.active]
    sheets[0].title = titles[0]
    sheets.extend(workbook.create_sheet(title) for title in titles[1:])
    for sheet, key in zip(sheets, ("settings", "questions", "choices", "rules"), strict=True):
        sheet.append([h for h, _w in headers[key]])
        for i, (_h, width) in enumerate(headers[key], start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        print_setup(sheet, header_rows=1, freeze=True, wide=key in ("questions", "rules"))
    return workbook, sheets


def blank_template_xlsx() -> bytes:
    """An empty questionnaire workbook to fill in and import: the four sheets the import
    reads, the settings' fields with their descriptions, and after them an instructions
    sheet (the one shown on opening) with every question type and an example of each
    sheet's rows. The import reads the first four sheets and ignores the instructions."""
    workbook, sheets = _new_workbook()
    settings_sheet = sheets[0]
    defaults = {"language": "zh-hans", "mode": "agent", "kind": "survey"}
    descriptions = _key_descriptions()
    for key in (*SETTING_KEYS, *PART_KEYS):
        settings_sheet.append([key, defaults.get(key), descriptions[key]])
    guide = workbook.create_sheet(_("Instructions"))
    lines = [
        [_("How to fill in this workbook")],
        [_("1. On “%(sheet)s”, write a value beside each field.") % {"sheet": sheets[0].title}],
        [
            _(
                "2. On “%(sheet)s”, one row per question, in the order they are asked. "
                "Yes/no columns take 是/否, yes/no or 1/0; an empty Required means required, "
                "except for a multiple choice, which is optional unless marked."
            )
            % {"sheet": sheets[1].title}
        ],
        [
            _("3. On “%(sheet)s”, one row per answer choice, under its question's code.")
            % {"sheet": sheets[2].title}
        ],
        [
            _("4. On “%(sheet)s”, the skip rules (optional): a rule only jumps forward.")
            % {"sheet": sheets[3].title}
        ],
        [_("5. Import the workbook on the questionnaires page; every problem is listed by row.")],
        [],
        [_("Question types (write the code or the name)"), _("Code")],
        *[[str(label), value] for value, label in QuestionType.choices],
        [],
        [_("Example"), _("Code"), _("Type"), _("Text read aloud")],
        [_("Questions"), "Q1", str(QuestionType.SINGLE.label), _("Which brand do you use?")],
        [_("Questions"), "Q2", str(QuestionType.MULTIPLE.label), _("Which services do you use?")],
        [_("Choices"), "Q2", 9, _("None of these"), "", _("Exclusive") + ": 1"],
    ]
    for line in lines:
        guide.append(line)
    guide["A1"].font = Font(bold=True, size=13)
    guide.column_dimensions["A"].width = 70
    guide.column_dimensions["B"].width = 14
    guide.column_dimensions["C"].width = 18
    guide.column_dimensions["D"].width = 40
    print_setup(guide, header_rows=0)
    workbook.active = len(workbook.worksheets) - 1
    cells_as_text(workbook)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def version_export_xlsx(*, version: QuestionnaireVersion) -> bytes:
    """The version as an .xlsx file."""
    from surveys.selectors import version_questions

    questionnaire = version.questionnaire
    questions = list(version_questions(version=version))
    workbook, sheets = _new_workbook()
    descriptions = _key_descriptions()
    settings_sheet, question_sheet, choice_sheet, rule_sheet = sheets
    values: dict[str, Any] = {
        "name": questionnaire.name,
        "language": questionnaire.language,
        "mode": version.mode,
        "kind": version.kind,
        "extra_placeholders": ", ".join(version.extra_placeholders or []),
    }
    values.update({key: getattr(version, key) for key in PART_KEYS})
    for key in (*SETTING_KEYS, *PART_KEYS):
        settings_sheet.append([key, values[key], descriptions[key]])
    for row in settings_sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    for q in questions:
        question_sheet.append(
            [
                q.code,
                q.type,
                q.text,
                q.instruction,
                q.required,
                q.allow_dont_know,
                q.allow_refused,
                q.confirms_identity,
                q.records_consent,
                _number(q.min_value),
                _number(q.max_value),
            ]
        )
        for c in q.choices.all():
            choice_sheet.append([q.code, c.code, c.label, c.keypad or None, c.exclusive, c.specify])
        for r in q.rules.all():
            rule_sheet.append(
                [
                    q.code,
                    r.condition,
                    ", ".join(str(c.code) for c in r.choices.all()) or None,
                    _number(r.min_value),
                    _number(r.max_value),
                    r.special or None,
                    r.action,
                    r.target.code if r.target is not None else None,
                ]
            )
    cells_as_text(workbook)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    sheet: str
    row: int
    message: str

    def __str__(self) -> str:
        return _("Sheet “%(sheet)s”, row %(row)s: %(message)s") % {
            "sheet": self.sheet,
            "row": self.row,
            "message": self.message,
        }


class ImportRejected(ValidationError):
    """Nothing was imported; `problems` lists every bad row."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__([str(p) for p in problems], code="import_rejected")


@dataclass
class _Parsed:
    settings: dict[str, Any] = field(default_factory=dict)
    questions: list[dict[str, Any]] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[RowProblem] = []

    def problem(self, sheet: str, row: int, message: str) -> None:
        self.problems.append(RowProblem(sheet, row, message))

    @staticmethod
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    def boolean(self, value: Any, sheet: str, row: int, column: str) -> bool:
        if isinstance(value, bool):
            return value
        word = self.text(value).lower()
        if word in TRUE_WORDS:
            return True
        if word not in FALSE_WORDS:
            self.problem(
                sheet,
                row,
                _("%(column)s must be yes or no, not “%(value)s”.")
                % {"column": column, "value": word},
            )
        return False

    def decimal(self, value: Any, sheet: str, row: int, column: str) -> Decimal | None:
        word = self.text(value)
        if not word:
            return None
        try:
            return to_decimal(word)
        except ValidationError as exc:
            message = exc.messages[0]
            if exc.error_list[0].code == "not_a_number":
                message = _("must be a number, not “%(value)s”") % {"value": word}
            self.problem(sheet, row, f"{column}: {message}")
            return None

    def integer(self, value: Any, sheet: str, row: int, column: str) -> int | None:
        number = self.decimal(value, sheet, row, column)
        if number is None:
            return None
        if number != number.to_integral_value():
            self.problem(sheet, row, _("%(column)s must be a whole number.") % {"column": column})
            return None
        return int(number)


def _rows(sheet) -> list[tuple[int, list[Any]]]:
    """(Excel row number, cell values) of the non-empty rows below the header."""
    result = []
    for number, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        values = list(row)
        if any(v is not None and str(v).strip() != "" for v in values):
            result.append((number, values))
    return result


def _cell(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _parse(workbook) -> tuple[_Parsed, list[RowProblem]]:
    reader = _Reader()
    parsed = _Parsed()
    titles = _sheet_titles()
    if len(workbook.worksheets) < 4:
        reader.problem(
            titles[0],
            1,
            _("The workbook needs four sheets: questionnaire, questions, choices, rules."),
        )
        return parsed, reader.problems
    settings_sheet, question_sheet, choice_sheet, rule_sheet = workbook.worksheets[:4]
    s_title, q_title, c_title, r_title = (
        settings_sheet.title,
        question_sheet.title,
        choice_sheet.title,
        rule_sheet.title,
    )
    headers = _headers()

    # The questionnaire sheet: one field per row.
    known_keys = (*SETTING_KEYS, *PART_KEYS)
    for row, values in _rows(settings_sheet):
        key = reader.text(_cell(values, 0))
        raw = _cell(values, 1)
        if key not in known_keys:
            reader.problem(s_title, row, _("Unknown field “%(key)s”.") % {"key": key})
            continue
        if key in parsed.settings:
            reader.problem(s_title, row, _("The field “%(key)s” appears twice.") % {"key": key})
            continue
        if key == "transition_duration_minutes":
            minutes = reader.integer(raw, s_title, row, key)
            if minutes is not None and not 1 <= minutes <= 600:
                reader.problem(
                    s_title, row, _("The promised duration must be between 1 and 600 minutes.")
                )
            parsed.settings[key] = minutes
            continue
        value = reader.text(raw)
        allowed = {
            "language": Language.values,
            "mode": Mode.values,
            "kind": Kind.values,
        }.get(key)
        if allowed is not None and value not in allowed:
            reader.problem(
                s_title,
                row,
                _("“%(value)s” is not a valid %(key)s; use one of %(allowed)s.")
                % {"value": value, "key": key, "allowed": ", ".join(allowed)},
            )
        if key == "extra_placeholders":
            names = [n.strip().strip("{}") for n in value.replace("，", ",").split(",")]
            names = [n for n in names if n]
            bad = [n for n in names if not placeholder_name_is_valid(n)]
            if bad:
                reader.problem(
                    s_title,
                    row,
                    _("Not valid placeholder names: %(names)s.") % {"names": ", ".join(bad)},
                )
            parsed.settings[key] = names
            continue
        if key == "name" and not value:
            reader.problem(s_title, row, _("The questionnaire needs a name."))
        parsed.settings[key] = value
    for key in ("name", "language"):
        if key not in parsed.settings:
            reader.problem(s_title, 1, _("The field “%(key)s” is missing.") % {"key": key})

    # Questions.
    q_headers = [h for h, _w in headers["questions"]]
    codes: dict[str, dict[str, Any]] = {}
    for row, values in _rows(question_sheet):
        code = reader.text(_cell(values, 0))
        qtype = question_type_of(reader.text(_cell(values, 1)))
        item: dict[str, Any] = {"row": row, "code": code, "type": qtype}
        if not code:
            reader.problem(q_title, row, _("The question has no code."))
        elif len(code) > 20:
            reader.problem(q_title, row, _("A question code has at most 20 characters."))
        elif code in codes:
            reader.problem(
                q_title,
                row,
                _("The code %(code)s is used by row %(other)s too.")
                % {"code": code, "other": codes[code]["row"]},
            )
        if qtype not in QuestionType.values:
            reader.problem(
                q_title,
                row,
                _("“%(value)s” is not a question type; use one of %(allowed)s.")
                % {"value": qtype, "allowed": ", ".join(type_names())},
            )
        item["text"] = reader.text(_cell(values, 2))
        item["instruction"] = reader.text(_cell(values, 3))
        for offset, name in enumerate(QUESTION_COLUMNS[4:9], start=4):
            raw = _cell(values, offset)
            if name == "required" and (raw is None or reader.text(raw) == ""):
                # As in the designer: a multiple choice is optional unless marked required.
                item[name] = qtype != QuestionType.MULTIPLE
                continue
            item[name] = reader.boolean(raw, q_title, row, q_headers[offset])
        item["min_value"] = reader.decimal(_cell(values, 9), q_title, row, q_headers[9])
        item["max_value"] = reader.decimal(_cell(values, 10), q_title, row, q_headers[10])
        if (item["min_value"] is not None or item["max_value"] is not None) and (
            qtype != QuestionType.NUMBER
        ):
            reader.problem(q_title, row, _("Only number questions take a minimum and maximum."))
        elif (
            item["min_value"] is not None
            and item["max_value"] is not None
            and item["min_value"] > item["max_value"]
        ):
            reader.problem(q_title, row, _("The minimum is larger than the maximum."))
        parsed.questions.append(item)
        if code and code not in codes:
            codes[code] = item

    # Choices.
    c_headers = [h for h, _w in headers["choices"]]
    choice_codes: dict[str, dict[int, int]] = {}
    for row, values in _rows(choice_sheet):
        qcode = reader.text(_cell(values, 0))
        owner = codes.get(qcode)
        if owner is None:
            reader.problem(
                c_title, row, _("There is no question with the code “%(code)s”.") % {"code": qcode}
            )
        elif owner["type"] in QuestionType.values and owner["type"] not in CHOICE_TYPES:
            reader.problem(
                c_title, row, _("Question %(code)s does not take choices.") % {"code": qcode}
            )
        code = reader.integer(_cell(values, 1), c_title, row, c_headers[1])
        if code is None and reader.text(_cell(values, 1)) == "":
            reader.problem(c_title, row, _("The choice has no code."))
        seen = choice_codes.setdefault(qcode, {})
        if code is not None and code in seen:
            reader.problem(
                c_title,
                row,
                _("Question %(q)s has choice code %(code)s in row %(other)s too.")
                % {"q": qcode, "code": code, "other": seen[code]},
            )
        elif code is not None:
            seen[code] = row
        keypad = reader.text(_cell(values, 3))
        if keypad and keypad not in KEYPAD_DIGITS:
            reader.problem(c_title, row, _("The keypad digit must be a single digit 0-9."))
        label = reader.text(_cell(values, 2))
        if len(label) > 500:
            reader.problem(c_title, row, _("A label has at most 500 characters."))
        parsed.choices.append(
            {
                "row": row,
                "question": qcode,
                "code": code,
                "label": label,
                "keypad": keypad,
                "exclusive": reader.boolean(_cell(values, 4), c_title, row, c_headers[4]),
                "specify": reader.boolean(_cell(values, 5), c_title, row, c_headers[5]),
            }
        )

    # Rules, checked exactly as the designer checks them.
    r_headers = [h for h, _w in headers["rules"]]
    position = {item["code"]: i for i, item in enumerate(parsed.questions, start=1)}
    for row, values in _rows(rule_sheet):
        qcode = reader.text(_cell(values, 0))
        condition = reader.text(_cell(values, 1))
        action = reader.text(_cell(values, 6))
        special = reader.text(_cell(values, 5))
        target_code = reader.text(_cell(values, 7))
        owner = codes.get(qcode)
        item = {
            "row": row,
            "question": qcode,
            "condition": condition,
            "action": action,
            "special": special,
            "target": target_code,
            "min_value": reader.decimal(_cell(values, 3), r_title, row, r_headers[3]),
            "max_value": reader.decimal(_cell(values, 4), r_title, row, r_headers[4]),
            "choices": [],
        }
        if owner is None:
            reader.problem(
                r_title, row, _("There is no question with the code “%(code)s”.") % {"code": qcode}
            )
            continue
        problems_before = len(reader.problems)
        for part in reader.text(_cell(values, 2)).replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                code = int(Decimal(part))
            except (InvalidOperation, ValueError):
                reader.problem(
                    r_title, row, _("“%(value)s” is not a choice code.") % {"value": part}
                )
                continue
            if code not in choice_codes.get(qcode, {}):
                reader.problem(
                    r_title,
                    row,
                    _("Question %(q)s has no choice with code %(code)s.")
                    % {"q": qcode, "code": code},
                )
                continue
            item["choices"].append(code)
        if target_code and target_code not in codes:
            reader.problem(
                r_title,
                row,
                _("There is no question with the code “%(code)s” to go to.")
                % {"code": target_code},
            )
            continue
        if owner["type"] not in QuestionType.values or len(reader.problems) > problems_before:
            # The row is already reported; checking it further would only repeat the cause.
            parsed.rules.append(item)
            continue
        fake_owner = Question(
            pk=position[qcode],
            version_id=0,
            position=position[qcode],
            code=qcode,
            type=owner["type"],
        )
        fake_target = None
        if target_code:
            fake_target = Question(
                pk=position[target_code],
                version_id=0,
                position=position[target_code],
                code=target_code,
            )
        try:
            rule_validate_fields(
                fake_owner,
                condition=condition,
                action=action,
                choices=[Choice(question_id=fake_owner.pk, code=c) for c in item["choices"]],
                min_value=item["min_value"],
                max_value=item["max_value"],
                special=special,
                target=fake_target,
            )
        except ValidationError as exc:
            for message in exc.messages:
                reader.problem(r_title, row, message)
        parsed.rules.append(item)
    return parsed, reader.problems


def version_import_xlsx(
    *, file: IO[bytes] | bytes, questionnaire: Questionnaire | None = None, created_by: Any = None
) -> QuestionnaireVersion:
    """Read a workbook written by version_export_xlsx (or by hand in its layout) into a new
    draft: of a new questionnaire, or the next version of `questionnaire` (its name and
    language stay). Raises ImportRejected listing every bad row; then nothing is saved."""
    if isinstance(file, bytes | bytearray):
        file = BytesIO(file)
    workbook_check(file)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not .xlsx
        raise unreadable() from exc
    try:
        parsed, problems = _parse(workbook)
    except ValidationError:
        raise
    except Exception as exc:
        # A read-only workbook parses its sheets only as they are read: malformed XML in a
        # sheet surfaces here, as lxml's, ElementTree's or openpyxl's own error.
        raise unreadable() from exc
    finally:
        workbook.close()
    if problems:
        raise ImportRejected(problems)
    return _save(parsed, questionnaire=questionnaire, created_by=created_by)


def _save(
    parsed: _Parsed, *, questionnaire: Questionnaire | None, created_by: Any
) -> QuestionnaireVersion:
    s = parsed.settings
    with transaction.atomic():
        if questionnaire is None:
            questionnaire = Questionnaire.objects.create(
                name=s["name"], language=s["language"], created_by=created_by
            )
            number = 1
        else:
            Questionnaire.objects.select_for_update().filter(pk=questionnaire.pk).first()
            if questionnaire.versions.filter(status=VersionStatus.DRAFT).exists():
                raise ValidationError(
                    _("This questionnaire already has a draft; edit it or discard it first."),
                    code="draft_exists",
                )
            number = (questionnaire.versions.aggregate(m=Max("number"))["m"] or 0) + 1
        version = QuestionnaireVersion.objects.create(
            questionnaire=questionnaire,
            number=number,
            mode=s.get("mode") or Mode.AGENT,
            kind=s.get("kind") or Kind.SURVEY,
            extra_placeholders=s.get("extra_placeholders", []),
            created_by=created_by,
            **{key: s.get(key, "") for key in PART_KEYS if key != "transition_duration_minutes"},
            transition_duration_minutes=s.get("transition_duration_minutes"),
        )
        questions = {
            item["code"]: Question(
                version=version,
                position=i,
                **{name: item[name] for name in QUESTION_COLUMNS},
            )
            for i, item in enumerate(parsed.questions, start=1)
        }
        Question.objects.bulk_create(questions.values())
        positions: dict[str, int] = {}
        choices: dict[tuple[str, int], Choice] = {}
        for item in parsed.choices:
            positions[item["question"]] = positions.get(item["question"], 0) + 1
            choices[(item["question"], item["code"])] = Choice(
                question=questions[item["question"]],
                position=positions[item["question"]],
                code=item["code"],
                label=item["label"],
                keypad=item["keypad"],
                exclusive=item["exclusive"],
                specify=item["specify"],
            )
        Choice.objects.bulk_create(choices.values())
        rule_positions: dict[str, int] = {}
        rules: list[tuple[Rule, list[int]]] = []
        for item in parsed.rules:
            qcode = item["question"]
            rule_positions[qcode] = rule_positions.get(qcode, 0) + 1
            rules.append(
                (
                    Rule(
                        question=questions[qcode],
                        position=rule_positions[qcode],
                        condition=item["condition"],
                        action=item["action"],
                        min_value=item["min_value"],
                        max_value=item["max_value"],
                        special=item["special"],
                        target=questions[item["target"]] if item["target"] else None,
                    ),
                    item["choices"],
                )
            )
        Rule.objects.bulk_create([rule for rule, _codes in rules])
        Rule.choices.through.objects.bulk_create(
            [
                Rule.choices.through(rule_id=rule.pk, choice_id=choices[(rule.question.code, c)].pk)
                for rule, codes in rules
                for c in codes
            ]
        )
    return version


__all__ = [
    "XLSX_CONTENT_TYPE",
    "ImportRejected",
    "RowProblem",
    "version_export_xlsx",
    "version_import_xlsx",
]
