import pytest

from surveys import services
from surveys.checker import Level, check_version
from surveys.demo import DEMO_NAME, demo_questionnaire_create
from surveys.engine import AnswerValue, End, next_step, script_build
from surveys.models import Questionnaire, QuestionType, VersionStatus

pytestmark = pytest.mark.django_db


def test_demo_is_published_complete_and_passes_the_checker():
    version = demo_questionnaire_create()
    assert version.status == VersionStatus.PUBLISHED
    assert version.questionnaire.language == "zh-hans"
    assert all(getattr(version, f) for f in version.PART_FIELDS)
    assert [f for f in check_version(version) if f.level == Level.ERROR] == []
    types = list(version.questions.order_by("position").values_list("type", flat=True))
    assert len(types) == 15
    assert types.count(QuestionType.MULTIPLE) == 3
    assert types.count(QuestionType.SCALE) == 5
    assert types[-1] == QuestionType.TEXT


def test_demo_uses_the_customers_scales_and_options():
    version = demo_questionnaire_create()
    q9 = version.questions.get(position=9)
    assert list(q9.choices.values_list("label", flat=True)) == [
        "非常满意",
        "比较满意",
        "一般",
        "不太满意",
        "非常差",
    ]
    q11 = version.questions.get(position=11)
    assert list(q11.choices.values_list("label", flat=True)) == [
        "完全同意",
        "部分同意",
        "中立",
        "完全不同意",
    ]
    q6 = version.questions.get(position=6)
    none = q6.choices.get(label="无")
    assert none.exclusive
    assert q6.choices.get(label="其他（请注明）").specify


def test_demo_skip_rules():
    version = demo_questionnaire_create()
    script = script_build(version)
    assert next_step(
        script, {"Q1": AnswerValue.of_choices(1), "Q2": AnswerValue.of_choices(1)}
    ) == (End.SCREEN_OUT)
    answers = {
        "Q1": AnswerValue.of_choices(1),
        "Q2": AnswerValue.of_choices(2),
        "Q3": AnswerValue.of_choices(1),
        "Q4": AnswerValue.of_choices(1),
        "Q5": AnswerValue.of_choices(1),
        "Q6": AnswerValue.of_choices(9),
    }
    assert next_step(script, answers).code == "Q8"
    answers["Q6"] = AnswerValue.of_choices(1, 2)
    assert next_step(script, answers).code == "Q7"


def test_demo_is_idempotent_by_name():
    first = demo_questionnaire_create()
    second = demo_questionnaire_create()
    assert first == second
    assert Questionnaire.objects.filter(name=DEMO_NAME).count() == 1
    services.version_new_draft(questionnaire=first.questionnaire)
    assert demo_questionnaire_create() == first
