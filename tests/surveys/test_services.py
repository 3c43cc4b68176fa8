from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from surveys import selectors, services
from surveys.checker import Level
from surveys.models import (
    Action,
    Choice,
    Condition,
    Question,
    QuestionnaireVersion,
    QuestionType,
    Rule,
    VersionStatus,
)
from surveys.presets import Preset
from tests.surveys.factories import english_parts, english_questionnaire

pytestmark = pytest.mark.django_db


def codes(version):
    return list(version.questions.order_by("position").values_list("code", flat=True))


def positions(version):
    return list(version.questions.order_by("position").values_list("position", flat=True))


@pytest.fixture
def draft():
    version = services.questionnaire_create(name="Draft", language="en")
    services.version_update_parts(version=version, **english_parts())
    return version


def test_questionnaire_create_makes_a_first_draft():
    version = services.questionnaire_create(name=" Survey ", language="en", mode="voice")
    assert version.number == 1
    assert version.status == VersionStatus.DRAFT
    assert version.mode == "voice"
    assert version.questionnaire.name == "Survey"
    with pytest.raises(ValidationError):
        services.questionnaire_create(name="  ")
    with pytest.raises(ValidationError):
        services.questionnaire_create(name="x", language="fr")


def test_version_update_parts_changes_only_what_is_given(draft):
    services.version_update_parts(version=draft, closing_thanks="Many thanks.")
    draft.refresh_from_db()
    assert draft.closing_thanks == "Many thanks."
    assert draft.greeting_salutation == english_parts()["greeting_salutation"]
    with pytest.raises(ValidationError):
        services.version_update_parts(version=draft, transition_duration_minutes=0)
    with pytest.raises(ValidationError):
        services.version_update_parts(version=draft, extra_placeholders=["bad name"])
    services.version_update_parts(version=draft, extra_placeholders=["{plan}", "plan", "city"])
    draft.refresh_from_db()
    assert draft.extra_placeholders == ["plan", "city"]


def test_question_add_numbers_codes_and_fills_yes_no_and_scale(draft):
    q1 = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    q2 = services.question_add(version=draft, type=QuestionType.SCALE, text="B?")
    q3 = services.question_add(
        version=draft, type=QuestionType.SCALE, preset=Preset.AGREEMENT_4, text="C?"
    )
    assert [q1.code, q2.code, q3.code] == ["Q1", "Q2", "Q3"]
    assert list(q1.choices.values_list("label", flat=True)) == ["Yes", "No"]
    assert list(q2.choices.values_list("label", flat=True)) == [
        "Very satisfied",
        "Quite satisfied",
        "Average",
        "Not very satisfied",
        "Very poor",
    ]
    assert q3.choices.count() == 4
    with pytest.raises(ValidationError):
        services.question_add(version=draft, type=QuestionType.TEXT, code="Q1")
    with pytest.raises(ValidationError):
        services.question_add(version=draft, type="essay")


def test_presets_use_the_customers_chinese_wording():
    version = services.questionnaire_create(name="中文", language="zh-hans")
    q = services.question_add(version=version, type=QuestionType.SCALE, text="满意吗？")
    assert list(q.choices.values_list("label", flat=True)) == [
        "非常满意",
        "比较满意",
        "一般",
        "不太满意",
        "非常差",
    ]
    services.question_apply_preset(question=q, preset=Preset.AGREEMENT_4)
    assert list(q.choices.values_list("label", flat=True)) == [
        "完全同意",
        "部分同意",
        "中立",
        "完全不同意",
    ]


def test_question_add_at_a_position(draft):
    for _ in range(3):
        services.question_add(version=draft, type=QuestionType.TEXT, text="t")
    services.question_add(version=draft, type=QuestionType.TEXT, text="t", code="X", position=1)
    assert codes(draft) == ["X", "Q1", "Q2", "Q3"]
    assert positions(draft) == [1, 2, 3, 4]


def test_question_move_up_down_and_to_a_position(draft):
    qs = [services.question_add(version=draft, type=QuestionType.TEXT, text="t") for _ in range(4)]
    services.question_move(question=qs[3], direction="up")
    assert codes(draft) == ["Q1", "Q2", "Q4", "Q3"]
    services.question_move(question=qs[0], direction="down")
    assert codes(draft) == ["Q2", "Q1", "Q4", "Q3"]
    services.question_move(question=qs[2], to_position=1)
    assert codes(draft) == ["Q3", "Q2", "Q1", "Q4"]
    services.question_move(question=qs[2], to_position=99)
    assert codes(draft) == ["Q2", "Q1", "Q4", "Q3"]
    assert positions(draft) == [1, 2, 3, 4]
    with pytest.raises(ValidationError):
        services.question_move(question=qs[0])


def test_question_update_changes_fields_and_drops_choices_when_type_changes(draft):
    q = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    services.question_update(question=q, text="B?", code="AGE", allow_refused=True)
    q.refresh_from_db()
    assert (q.text, q.code, q.allow_refused) == ("B?", "AGE", True)
    services.question_update(question=q, type=QuestionType.NUMBER, min_value=1, max_value=9)
    q.refresh_from_db()
    assert q.choices.count() == 0
    assert (q.min_value, q.max_value) == (Decimal(1), Decimal(9))
    with pytest.raises(ValidationError):
        services.question_update(question=q, min_value=10)


def test_question_duplicate_copies_choices_and_rules_right_after(draft):
    q1 = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    q2 = services.question_add(version=draft, type=QuestionType.TEXT, text="B?")
    q3 = services.question_add(version=draft, type=QuestionType.TEXT, text="C?")
    services.rule_add(
        question=q1,
        condition=Condition.CHOICE,
        choices=[q1.choices.get(code=2)],
        action=Action.GOTO,
        target=q3,
    )
    copy = services.question_duplicate(question=q1)
    assert codes(draft) == ["Q1", "Q4", "Q2", "Q3"]
    assert list(copy.choices.values_list("code", "label")) == [(1, "Yes"), (2, "No")]
    rule = copy.rules.get()
    assert rule.target == q3
    assert list(rule.choices.all()) == [copy.choices.get(code=2)]
    del q2


def test_question_delete_removes_rules_pointing_to_it_and_says_so(draft):
    q1 = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    q2 = services.question_add(version=draft, type=QuestionType.YES_NO, text="B?")
    q3 = services.question_add(version=draft, type=QuestionType.TEXT, text="C?")
    services.rule_add(
        question=q1,
        condition=Condition.CHOICE,
        choices=[q1.choices.get(code=2)],
        action=Action.GOTO,
        target=q3,
    )
    services.rule_add(question=q1, condition=Condition.ANY, action=Action.CLOSING)
    services.rule_add(question=q2, condition=Condition.ANY, action=Action.GOTO, target=q3)
    result = services.question_delete(question=q3)
    assert result.rules_removed == 2
    assert "2" in result.message and "Q3" in result.message
    assert codes(draft) == ["Q1", "Q2"]
    assert list(q1.rules.values_list("position", "action")) == [(1, "closing")]
    assert not Rule.objects.filter(question=q2).exists()


def test_choices_add_update_move_delete(draft):
    q = services.question_add(version=draft, type=QuestionType.MULTIPLE, text="Which?")
    a = services.choice_add(question=q, label="A")
    b = services.choice_add(question=q, label="B", keypad="2")
    none = services.choice_add(question=q, label="None", code=9, exclusive=True)
    assert [a.code, b.code, none.code] == [1, 2, 9]
    services.choice_update(choice=a, label="Alpha", keypad="1", specify=True)
    a.refresh_from_db()
    assert (a.label, a.keypad, a.specify) == ("Alpha", "1", True)
    with pytest.raises(ValidationError):
        services.choice_update(choice=a, code=2)
    with pytest.raises(ValidationError):
        services.choice_add(question=q, label="x", keypad="12")
    services.choice_move(choice=none, direction="up")
    assert list(q.choices.order_by("position").values_list("code", flat=True)) == [1, 9, 2]
    services.rule_add(
        question=q,
        condition=Condition.ANY_OF,
        choices=[a, b],
        action=Action.CLOSING,
    )
    assert services.choice_delete(choice=b) == 1
    assert list(q.choices.order_by("position").values_list("position", flat=True)) == [1, 2]
    text = services.question_add(version=draft, type=QuestionType.TEXT, text="t")
    with pytest.raises(ValidationError):
        services.choice_add(question=text, label="x")


def test_rule_add_validates_its_fields(draft):
    q1 = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    q2 = services.question_add(
        version=draft, type=QuestionType.NUMBER, text="B?", min_value=0, max_value=9
    )
    q3 = services.question_add(version=draft, type=QuestionType.TEXT, text="C?")
    yes = q1.choices.get(code=1)
    bad_calls = [
        {"question": q1, "condition": "choice", "action": "goto", "choices": [yes], "target": q1},
        {"question": q2, "condition": "any", "action": "goto", "target": q1},
        {"question": q1, "condition": "choice", "action": "closing", "choices": []},
        {"question": q2, "condition": "choice", "action": "closing", "choices": [yes]},
        {"question": q1, "condition": "range", "action": "closing", "min_value": 1},
        {"question": q2, "condition": "range", "action": "closing"},
        {"question": q3, "condition": "any", "action": "goto"},
        {"question": q3, "condition": "any", "action": "closing", "target": q3},
        {"question": q1, "condition": "any_of", "action": "closing", "choices": [yes]}
        | {"min_value": 3},
    ]
    for kwargs in bad_calls:
        with pytest.raises(ValidationError):
            services.rule_add(**kwargs)
    assert not Rule.objects.exists()
    services.rule_add(
        question=q2, condition="range", min_value=5, max_value=9, action="goto", target=q3
    )


def test_rules_keep_their_order_and_can_be_moved(draft):
    q1 = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    q2 = services.question_add(version=draft, type=QuestionType.TEXT, text="B?")
    yes, no = q1.choices.order_by("code")
    r1 = services.rule_add(question=q1, condition="choice", choices=[yes], action="closing")
    r2 = services.rule_add(question=q1, condition="choice", choices=[no], action="screen_out")
    r3 = services.rule_add(question=q1, condition="any", action="goto", target=q2, position=1)
    order = lambda: list(q1.rules.order_by("position").values_list("pk", flat=True))  # noqa: E731
    assert order() == [r3.pk, r1.pk, r2.pk]
    services.rule_move(rule=r3, to_position=3)
    assert order() == [r1.pk, r2.pk, r3.pk]
    services.rule_update(rule=r1, choices=[no], action="screen_out")
    r1.refresh_from_db()
    assert list(r1.choices.all()) == [no]
    services.rule_delete(rule=r2)
    assert list(q1.rules.order_by("position").values_list("position", flat=True)) == [1, 2]


def test_reordering_twenty_questions_never_breaks_the_unique_position(draft):
    qs = [services.question_add(version=draft, type=QuestionType.TEXT, text="t") for _ in range(20)]
    for i, q in enumerate(qs):
        services.question_move(question=q, to_position=20 - i)
    assert codes(draft) == [f"Q{n}" for n in range(20, 0, -1)]
    assert positions(draft) == list(range(1, 21))


def test_database_refuses_two_questions_at_one_position(draft):
    services.question_add(version=draft, type=QuestionType.TEXT, text="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(version=draft, position=1, code="Z", type="text")


# --- publish, freeze, new draft, copy ------------------------------------------------------


def test_publish_is_blocked_by_errors_and_returns_warnings(draft):
    with pytest.raises(services.PublishBlocked) as err:
        services.version_publish(version=draft)
    assert any(f.code == "body_empty" for f in err.value.findings)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    services.question_add(version=draft, type=QuestionType.TEXT, text="Anything else?")
    services.version_update_parts(version=draft, transition_duration_minutes=30)
    warnings = services.version_publish(version=draft)
    assert [w.code for w in warnings] == ["duration_mismatch"]
    assert all(w.level == Level.WARNING for w in warnings)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
    assert draft.published_at is not None


def test_published_version_is_frozen_in_services_and_model_clean():
    version = english_questionnaire()
    q1 = version.questions.get(code="Q1")
    choice = q1.choices.first()
    rule = q1.rules.first()
    frozen_calls = [
        lambda: services.version_update_parts(version=version, closing_thanks="x"),
        lambda: services.question_add(version=version, type="text", text="x"),
        lambda: services.question_update(question=q1, text="x"),
        lambda: services.question_move(question=q1, direction="down"),
        lambda: services.question_duplicate(question=q1),
        lambda: services.question_delete(question=q1),
        lambda: services.choice_add(question=q1, label="x"),
        lambda: services.choice_update(choice=choice, label="x"),
        lambda: services.choice_delete(choice=choice),
        lambda: services.question_apply_preset(question=q1, preset=Preset.YES_NO),
        lambda: services.rule_add(question=q1, condition="any", action="closing"),
        lambda: services.rule_update(rule=rule, action="closing"),
        lambda: services.rule_delete(rule=rule),
        lambda: services.version_publish(version=version),
        lambda: services.version_discard(version=version),
    ]
    for call in frozen_calls:
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.error_list[0].code == "frozen"
    q1.text = "changed"
    with pytest.raises(ValidationError):
        q1.full_clean()
    choice.label = "changed"
    with pytest.raises(ValidationError):
        choice.full_clean()
    version.closing_thanks = "changed"
    with pytest.raises(ValidationError):
        version.full_clean()


def test_new_draft_copies_the_latest_published_version():
    v1 = english_questionnaire()
    v2 = services.version_new_draft(questionnaire=v1.questionnaire)
    assert (v2.number, v2.status) == (2, VersionStatus.DRAFT)
    assert codes(v2) == codes(v1)
    rule = Rule.objects.get(question__version=v2, question__code="Q2")
    assert rule.target.version == v2
    assert rule.choices.get().question.version == v2
    with pytest.raises(ValidationError) as err:
        services.version_new_draft(questionnaire=v1.questionnaire)
    assert err.value.error_list[0].code == "draft_exists"
    services.question_update(question=v2.questions.get(code="Q1"), text="Changed?")
    assert v1.questions.get(code="Q1").text == "Are you 18 years old or older?"


def test_one_draft_per_questionnaire_in_the_database():
    v1 = english_questionnaire(publish=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionnaireVersion.objects.create(questionnaire=v1.questionnaire, number=2)


def test_new_draft_needs_a_published_version():
    draft = english_questionnaire(publish=False)
    services.version_discard(version=draft)
    with pytest.raises(ValidationError):
        services.version_new_draft(questionnaire=draft.questionnaire)


def test_questionnaire_copy_makes_a_new_questionnaire_with_a_draft():
    v1 = english_questionnaire()
    copy = services.questionnaire_copy(questionnaire=v1.questionnaire)
    assert copy.questionnaire != v1.questionnaire
    assert copy.questionnaire.name == "Hotline follow-up (copy)"
    assert (copy.number, copy.status) == (1, VersionStatus.DRAFT)
    assert codes(copy) == codes(v1)
    assert (
        Choice.objects.filter(question__version=copy).count()
        == Choice.objects.filter(question__version=v1).count()
    )
    assert Rule.objects.filter(question__version=copy, target__version=copy).count() == 3


def test_questionnaire_list_selector_has_versions_without_n_plus_one(django_assert_num_queries):
    for name in ("A", "B", "C"):
        v = english_questionnaire(name=name)
        services.version_new_draft(questionnaire=v.questionnaire)
    with django_assert_num_queries(2):
        rows = list(selectors.questionnaire_list())
        summary = [
            (q.name, q.latest_published, q.draft_number, [v.number for v in q.version_list])
            for q in rows
        ]
    assert summary[0] == ("A", 1, 2, [2, 1])
    assert rows[0].version_list[0].question_count == 8


def test_rules_follow_their_target_question_when_it_moves(draft):
    q1 = services.question_add(version=draft, type=QuestionType.YES_NO, text="A?")
    q2 = services.question_add(version=draft, type=QuestionType.TEXT, text="B?")
    q3 = services.question_add(version=draft, type=QuestionType.TEXT, text="C?")
    rule = services.rule_add(question=q1, condition="any", action="goto", target=q3)
    services.question_move(question=q3, to_position=2)
    rule.refresh_from_db()
    assert rule.target == q3
    from surveys.checker import check_version

    assert not [f for f in check_version(draft) if f.code == "rule_target_backward"]
    services.question_move(question=q3, to_position=1)
    backward = [f for f in check_version(draft) if f.code == "rule_target_backward"]
    assert backward and backward[0].location == "Q1"
    del q2


def test_script_build_takes_the_same_few_queries_for_any_size(django_assert_num_queries):
    from surveys.demo import demo_questionnaire_create
    from surveys.engine import script_build

    small = english_questionnaire()
    large = demo_questionnaire_create()
    with django_assert_num_queries(5):
        script_build(small)
    with django_assert_num_queries(5):
        script = script_build(large)
    assert len(script.questions) == 15
