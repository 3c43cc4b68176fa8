from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from surveys import services
from surveys.demo import demo_questionnaire_create
from surveys.excel import ImportRejected, version_export_xlsx, version_import_xlsx
from surveys.models import Questionnaire, QuestionnaireVersion, VersionStatus
from tests.surveys.factories import english_questionnaire

pytestmark = pytest.mark.django_db

QUESTION_FIELDS = (
    "position",
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
CHOICE_FIELDS = ("position", "code", "label", "keypad", "exclusive", "specify")


def content(version: QuestionnaireVersion) -> dict:
    """Everything a version holds, without ids."""
    questions = []
    for q in version.questions.order_by("position"):
        questions.append(
            {
                **{f: getattr(q, f) for f in QUESTION_FIELDS},
                "choices": [
                    {f: getattr(c, f) for f in CHOICE_FIELDS}
                    for c in q.choices.order_by("position")
                ],
                "rules": [
                    {
                        "position": r.position,
                        "condition": r.condition,
                        "action": r.action,
                        "min_value": r.min_value,
                        "max_value": r.max_value,
                        "special": r.special,
                        "target": r.target.code if r.target else None,
                        "choices": sorted(c.code for c in r.choices.all()),
                    }
                    for r in q.rules.order_by("position")
                ],
            }
        )
    return {
        "language": version.questionnaire.language,
        "mode": version.mode,
        "kind": version.kind,
        "extra_placeholders": version.extra_placeholders,
        **{f: getattr(version, f) for f in version.PART_FIELDS},
        "questions": questions,
    }


def test_export_has_four_readable_sheets():
    version = english_questionnaire()
    book = load_workbook(BytesIO(version_export_xlsx(version=version)))
    assert book.sheetnames == ["Questionnaire", "Questions", "Choices", "Rules"]
    settings_sheet, questions, choices, rules = book.worksheets
    assert settings_sheet["A2"].value == "name"
    assert settings_sheet["B2"].value == "Hotline follow-up"
    assert questions["A1"].font.bold
    assert questions.column_dimensions["C"].width == 60
    assert questions.max_row == 9
    assert choices["C2"].value == "Yes"
    assert rules.max_row == 6
    for sheet in book.worksheets:  # printed one page wide, the header on every page
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
        assert sheet.print_title_rows == "$1:$1" and sheet.freeze_panes == "A2"


@pytest.mark.parametrize("make", [english_questionnaire, demo_questionnaire_create])
def test_export_then_import_gives_back_the_same_questionnaire(make):
    version = make()
    data = version_export_xlsx(version=version)
    imported = version_import_xlsx(file=data)
    assert imported.questionnaire != version.questionnaire
    assert imported.questionnaire.name == version.questionnaire.name
    assert imported.status == VersionStatus.DRAFT
    assert content(imported) == content(version)


def test_import_as_the_next_version_of_a_questionnaire():
    version = english_questionnaire()
    data = version_export_xlsx(version=version)
    imported = version_import_xlsx(file=data, questionnaire=version.questionnaire)
    assert (imported.questionnaire, imported.number) == (version.questionnaire, 2)
    assert content(imported) == content(version)
    with pytest.raises(ValidationError):
        version_import_xlsx(file=data, questionnaire=version.questionnaire)


def test_extra_placeholders_and_marketing_survive_the_round_trip():
    version = english_questionnaire(publish=False)
    services.version_update_parts(
        version=version, kind="marketing", mode="voice", extra_placeholders=["plan", "city"]
    )
    version.refresh_from_db()
    imported = version_import_xlsx(file=version_export_xlsx(version=version))
    assert content(imported) == content(version)


def test_a_bad_import_saves_nothing_and_reports_every_bad_row():
    version = english_questionnaire()
    book = load_workbook(BytesIO(version_export_xlsx(version=version)))
    settings_sheet, questions, choices, rules = book.worksheets
    settings_sheet["B3"] = "fr"  # language
    questions["B3"] = "essay"  # Q2's type
    questions["A5"] = "Q1"  # Q4 takes Q1's code
    questions["J7"] = "lots"  # Q6 minimum
    choices["D2"] = "11"  # keypad digit
    choices["A3"] = "Q99"  # no such question
    rules["H4"] = "Q2"  # Q3 jumps back to Q2
    rules["C5"] = "4"  # Q5 has no choice 4
    buffer = BytesIO()
    book.save(buffer)
    before = Questionnaire.objects.count()
    with pytest.raises(ImportRejected) as err:
        version_import_xlsx(file=buffer.getvalue())
    assert Questionnaire.objects.count() == before
    found = {(p.sheet, p.row) for p in err.value.problems}
    assert found >= {
        ("Questionnaire", 3),
        ("Questions", 3),
        ("Questions", 5),
        ("Questions", 7),
        ("Choices", 2),
        ("Choices", 3),
        ("Rules", 4),
        ("Rules", 5),
    }
    messages = " ".join(err.value.messages)
    assert "Sheet “Rules”, row 4: A rule can only jump forward" in messages


def test_a_file_that_is_not_excel_is_refused():
    with pytest.raises(ValidationError) as err:
        version_import_xlsx(file=b"not a workbook")
    assert err.value.error_list[0].code == "not_xlsx"
