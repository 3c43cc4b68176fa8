"""Questionnaires as the customer writes them: a blank template with instructions, type
names in Chinese as the designer shows them, multiple choices optional by default, a
warning for a required multiple choice with no way to say "none", and the branch's own
satisfaction wording."""

from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts.roles import Role
from surveys import checker, services
from surveys.demo import DEMO_PARTS
from surveys.excel import blank_template_xlsx, question_type_of, version_import_xlsx
from surveys.models import QuestionType
from surveys.presets import Preset
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("单选题", QuestionType.SINGLE),
        ("多选题", QuestionType.MULTIPLE),
        ("开放题", QuestionType.TEXT),
        ("数字题", QuestionType.NUMBER),
        ("Single choice", QuestionType.SINGLE),
        ("multiple", QuestionType.MULTIPLE),
        (" Open text ", QuestionType.TEXT),
        ("量表题", QuestionType.SCALE),
        ("说明", QuestionType.STATEMENT),
    ],
)
def test_a_type_may_be_written_as_the_designer_shows_it(written, code):
    assert question_type_of(written) == code


def test_an_unknown_type_is_left_for_the_import_to_report():
    assert question_type_of("排序题") == "排序题"


def filled_template() -> bytes:
    """The blank template filled in as a customer would: Chinese type names, a multiple
    choice with its Required left empty."""
    book = load_workbook(BytesIO(blank_template_xlsx()))
    settings_sheet, questions, choices, _rules = book.worksheets[:4]
    values = {"name": "宽带回访", **DEMO_PARTS}
    for row in settings_sheet.iter_rows(min_row=2):
        key = row[0].value
        if key in values:
            row[1].value = values[key]
    questions.append(["Q1", "单选题", "您使用的是哪个品牌？"])
    questions.append(["Q2", "多选题", "您使用了哪些业务？"])
    questions.append(["Q3", "开放题", "还有什么建议？", None, "否"])
    for code, label in ((1, "全球通"), (2, "动感地带"), (3, "神州行")):
        choices.append(["Q1", code, label])
    for code, label in ((1, "彩铃"), (2, "手机报")):
        choices.append(["Q2", code, label])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_blank_template_opens_on_its_instructions_and_imports_once_filled():
    book = load_workbook(BytesIO(blank_template_xlsx()))
    assert book.active.title == "Instructions" and len(book.worksheets) == 5
    guide = [row[0] for row in book.active.iter_rows(values_only=True) if row and row[0]]
    assert any("multiple choice" in str(line) for line in guide)
    # Every type is listed with its code.
    listed = {row[1] for row in book.active.iter_rows(values_only=True) if row and len(row) > 1}
    assert set(QuestionType.values) <= listed

    owner = UserFactory(roles=[Role.OUTBOUND_ADMIN])
    version = version_import_xlsx(file=filled_template(), created_by=owner)
    by_code = {q.code: q for q in version.questions.all()}
    assert [by_code[c].type for c in ("Q1", "Q2", "Q3")] == [
        QuestionType.SINGLE,
        QuestionType.MULTIPLE,
        QuestionType.TEXT,
    ]
    # Required left empty: required, but a multiple choice is optional.
    assert (by_code["Q1"].required, by_code["Q2"].required, by_code["Q3"].required) == (
        True,
        False,
        False,
    )


def test_the_template_is_downloaded_from_the_import_page(client):
    client.force_login(UserFactory(roles=[Role.OUTBOUND_ADMIN]))
    page = client.get(reverse("surveys:questionnaire_import")).content.decode()
    url = reverse("surveys:questionnaire_template")
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert load_workbook(BytesIO(response.content)).active.title == "Instructions"
    client.force_login(UserFactory(roles=[Role.ANALYST]))
    assert client.get(url).status_code == 403


def test_a_multiple_choice_is_optional_unless_told_and_the_checker_asks_for_none():
    version = services.questionnaire_create(name="Services")
    services.version_update_parts(version=version, **DEMO_PARTS)
    optional = services.question_add(version=version, type=QuestionType.MULTIPLE, text="哪些？")
    assert not optional.required
    single = services.question_add(version=version, type=QuestionType.SINGLE, text="哪个？")
    assert single.required
    required = services.question_add(
        version=version, type=QuestionType.MULTIPLE, text="必答？", required=True
    )
    for q in (optional, single, required):
        for label in ("甲", "乙"):
            services.choice_add(question=q, label=label)

    def warned() -> set[str]:
        return {
            f.location
            for f in checker.check_version(version)
            if f.code == "multiple_required_without_none"
        }

    assert warned() == {required.code}
    services.choice_add(question=required, label="都没有", exclusive=True)
    assert warned() == set()


def test_the_branchs_own_satisfaction_wording_is_offered():
    version = services.questionnaire_create(name="Wording")
    q = services.question_add(
        version=version,
        type=QuestionType.SCALE,
        text="满意吗？",
        preset=Preset.SATISFACTION_5_BRANCH,
    )
    assert [c.label for c in q.choices.order_by("position")] == [
        "非常满意",
        "很满意",
        "一般",
        "不太满意",
        "很差",
    ]
    from surveys.forms import QuestionAddForm

    with translation.override("en"):
        offered = dict(QuestionAddForm().fields["preset"].choices)
    assert Preset.SATISFACTION_5_BRANCH in offered
