"""One test per checker rule: each fails if its rule stops working."""

from dataclasses import replace
from decimal import Decimal

import pytest

from surveys.checker import Level, check_script, check_version, estimate_duration
from surveys.engine import ChoiceRef, ChoiceSpec, Parts, QuestionSpec, RuleSpec
from surveys.models import Choice, Question, Rule
from tests.surveys.factories import english_questionnaire
from tests.surveys.scripts import PARTS, goto, sample_script, script, with_question, yes_no


def found(s, code):
    return [f for f in check_script(s) if f.code == code]


def test_sample_script_is_clean():
    assert check_script(sample_script()) == []


def test_part_element_missing():
    for field in ("greeting_introduction", "transition_cost", "closing_wishes"):
        s = replace(sample_script(), parts=replace(PARTS, **{field: "  "}))
        findings = found(s, "part_missing")
        assert len(findings) == 1
        assert findings[0].level == Level.ERROR
        assert findings[0].location == field.split("_")[0]
    s = replace(sample_script(), parts=replace(PARTS, transition_duration_minutes=None))
    assert found(s, "part_missing")[0].location == "transition"


def test_body_without_questions():
    assert found(script(), "body_empty")[0].level == Level.ERROR


def test_duplicate_question_codes():
    s = script(yes_no("Q1"), yes_no("Q1"))
    assert found(s, "question_code_duplicate")[0].location == "Q1"


def test_question_without_text():
    s = with_question(sample_script(), "Q4", text=" ")
    assert found(s, "question_text_empty")[0].location == "Q4"


def test_number_bounds_reversed():
    s = with_question(sample_script(), "Q3", min_value=Decimal(10), max_value=Decimal(1), rules=())
    assert found(s, "number_bounds")


def test_choice_question_without_choices():
    s = with_question(sample_script(), "Q1", choices=(), rules=())
    assert found(s, "choices_missing")[0].location == "Q1"


def test_duplicate_choice_codes():
    s = with_question(
        sample_script(), "Q1", choices=(ChoiceSpec(1, "Yes", "1"), ChoiceSpec(1, "No", "2"))
    )
    assert found(s, "choice_code_duplicate")


def test_choice_without_label():
    s = with_question(
        sample_script(), "Q1", choices=(ChoiceSpec(1, "Yes", "1"), ChoiceSpec(2, "", "2"))
    )
    assert "2" in found(s, "choice_label_missing")[0].message


def test_duplicate_keypad_digits():
    s = with_question(
        sample_script(), "Q1", choices=(ChoiceSpec(1, "Yes", "1"), ChoiceSpec(2, "No", "1"))
    )
    assert found(s, "keypad_duplicate")[0].level == Level.ERROR


def test_choices_on_a_type_without_choices():
    s = with_question(sample_script(), "Q4", choices=(ChoiceSpec(1, "x"),))
    assert found(s, "choices_unused")[0].level == Level.WARNING


def voice(s):
    return replace(s, mode="voice")


def test_voice_more_than_ten_keypad_options():
    many = tuple(ChoiceSpec(i, f"Option {i}", str(i % 10)) for i in range(11))
    s = voice(with_question(sample_script(), "Q1", choices=many, rules=()))
    assert found(s, "voice_too_many_choices")[0].level == Level.ERROR
    assert not found(voice(sample_script()), "voice_too_many_choices")


def test_voice_choice_without_keypad_digit():
    s = voice(
        with_question(
            sample_script(), "Q1", choices=(ChoiceSpec(1, "Yes", "1"), ChoiceSpec(2, "No", ""))
        )
    )
    assert found(s, "voice_keypad_missing")[0].level == Level.ERROR
    assert not found(with_question(sample_script(), "Q1", choices=()), "voice_keypad_missing")


def test_voice_open_text_is_asked_aloud_and_allowed():
    # Q4 is an open question: a voice survey records the answer, so nothing is found.
    findings = check_script(voice(sample_script()))
    assert not [f for f in findings if f.location == "Q4"]
    assert not [f for f in findings if f.is_error]


def test_voice_number_is_a_warning():
    finding = found(voice(sample_script()), "voice_number")[0]
    assert finding.level == Level.WARNING
    assert "#" in finding.hint


def test_voice_specify_is_a_warning():
    assert found(voice(sample_script()), "voice_specify")[0].location == "Q2"


def test_rule_target_missing():
    s = with_question(sample_script(), "Q2", rules=(goto("Q2", "Q9", 9),))
    assert found(s, "rule_target_missing")[0].location == "Q2"


def test_rule_target_behind_or_at_itself():
    for target in ("Q1", "Q2"):
        s = with_question(sample_script(), "Q2", rules=(goto("Q2", target, 9),))
        assert found(s, "rule_target_backward")[0].level == Level.ERROR


def test_rule_target_in_another_version_in_memory():
    rule = RuleSpec("choice", "goto", (ChoiceRef("Q2", 9),), target="Q4", target_elsewhere=True)
    s = with_question(sample_script(), "Q2", rules=(rule,))
    assert found(s, "rule_target_other_version")


def test_rule_with_choices_of_another_question():
    s = with_question(sample_script(), "Q2", rules=(goto("Q1", "Q4", 1),))
    assert "Q1" in found(s, "rule_foreign_choice")[0].message


def test_rule_with_an_unknown_choice_code():
    s = with_question(sample_script(), "Q2", rules=(goto("Q2", "Q4", 5),))
    assert found(s, "rule_unknown_choice")


def test_rule_without_choices():
    s = with_question(sample_script(), "Q2", rules=(goto("Q2", "Q4"),))
    assert found(s, "rule_no_choices")


def test_choice_rule_on_a_text_question_never_fires():
    rule = RuleSpec("any_of", "goto", (ChoiceRef("Q3", 1),), target="Q5")
    s = with_question(
        sample_script(), "Q3", type="text", min_value=None, max_value=None, rules=(rule,)
    )
    findings = found(s, "rule_never_fires")
    assert findings and findings[0].level == Level.ERROR


def test_range_outside_min_max_never_fires():
    rule = RuleSpec("range", "closing", min_value=Decimal(101), max_value=Decimal(200))
    s = with_question(sample_script(), "Q3", rules=(rule,))
    assert "outside" in found(s, "rule_never_fires")[0].message


def test_special_rule_when_not_allowed_never_fires():
    s = with_question(sample_script(), "Q1", rules=(RuleSpec("special", "screen_out"),))
    assert found(s, "rule_never_fires")
    allowed = with_question(s, "Q1", allow_refused=True)
    assert not found(allowed, "rule_never_fires")


def test_rule_after_an_anything_rule_is_preempted():
    rules = (RuleSpec("any", "goto", target="Q4"), goto("Q2", "Q5", 1))
    s = with_question(sample_script(), "Q2", rules=rules)
    finding = found(s, "rule_preempted")[0]
    assert finding.level == Level.WARNING
    assert "rule 2" in finding.message


def test_rule_covered_by_an_earlier_any_of_is_preempted():
    rules = (
        RuleSpec("any_of", "goto", (ChoiceRef("Q2", 1), ChoiceRef("Q2", 2)), target="Q4"),
        goto("Q2", "Q5", 2),
    )
    s = with_question(sample_script(), "Q2", rules=rules)
    assert len(found(s, "rule_preempted")) == 1
    swapped = with_question(sample_script(), "Q2", rules=tuple(reversed(rules)))
    assert not found(swapped, "rule_preempted")


def test_unreachable_question():
    # Every answer to Q2 jumps past Q3.
    s = with_question(sample_script(), "Q2", rules=(RuleSpec("any", "goto", target="Q4"),))
    s = with_question(s, "Q2", allow_dont_know=False)
    assert [f.location for f in found(s, "question_unreachable")] == ["Q3"]


def test_every_path_screens_out():
    s = script(
        yes_no("Q1", rules=(RuleSpec("any", "screen_out"),)),
        yes_no("Q2"),
    )
    assert found(s, "closing_unreachable")[0].level == Level.ERROR
    assert not found(sample_script(), "closing_unreachable")


def test_unknown_placeholder():
    s = with_question(sample_script(), "Q4", text="What about {plan}?")
    finding = found(s, "placeholder_unknown")[0]
    assert finding.location == "Q4"
    assert "{plan}" in finding.message
    declared = replace(s, extra_placeholders=("plan",))
    assert not found(declared, "placeholder_unknown")


def test_unknown_placeholder_in_a_part():
    s = replace(sample_script(), parts=replace(PARTS, closing_thanks="Thanks, {nickname}."))
    assert found(s, "placeholder_unknown")[0].location == "closing"


def test_invalid_extra_placeholder_name():
    assert found(
        replace(sample_script(), extra_placeholders=("9 lives",)), "placeholder_name_invalid"
    )


def test_promised_duration_off_by_more_than_the_margin():
    assert not found(sample_script(), "duration_mismatch")
    s = replace(sample_script(), parts=replace(PARTS, transition_duration_minutes=10))
    finding = found(s, "duration_mismatch")[0]
    assert finding.level == Level.WARNING
    assert "10" in finding.message


def test_duration_margin_and_pace_come_from_settings(settings):
    s = replace(sample_script(), parts=replace(PARTS, transition_duration_minutes=2))
    settings.WAIHU_DURATION_MARGIN = 0.3
    assert found(s, "duration_mismatch")
    settings.WAIHU_DURATION_MARGIN = 5
    assert not found(s, "duration_mismatch")


def test_chinese_read_time_at_120_to_150_characters_a_minute(settings):
    settings.WAIHU_ANSWER_PAUSE_SECONDS = 0
    empty = Parts()
    text = "字" * 150
    s = replace(
        script(QuestionSpec(code="Q1", type="statement", text=text)),
        parts=empty,
        language="zh-hans",
    )
    estimate = estimate_duration(s)
    assert estimate.shortest_minutes == pytest.approx(1.0)
    assert estimate.longest_minutes == pytest.approx(150 / 120)


def marketing(s):
    closing = replace(
        PARTS,
        closing_summary="The offer is valid for three months.",
        closing_thanks="To cancel, send TD to 10086.",
    )
    return replace(s, kind="marketing", parts=closing)


def test_marketing_consent_needs_identity_first_on_every_path():
    identity = yes_no("Q1", text="Am I speaking to {customer_name}?", confirms_identity=True)
    consent = yes_no("Q3", text="Shall we activate the plan?", records_consent=True)
    # Q0 lets some callers jump straight past the identity check.
    q0 = yes_no("Q0", rules=(goto("Q0", "Q3", 2),))
    bad = marketing(script(q0, identity, yes_no("Q2"), consent))
    assert found(bad, "consent_before_identity")[0].location == "Q3"
    good = marketing(script(identity, yes_no("Q2"), consent))
    assert not found(good, "consent_before_identity")


def test_marketing_closing_states_period_and_cancellation():
    s = replace(sample_script(), kind="marketing")
    assert found(s, "marketing_closing_period")[0].level == Level.ERROR
    assert found(s, "marketing_closing_cancel")[0].level == Level.ERROR
    assert not found(marketing(sample_script()), "marketing_closing_period")
    assert not found(marketing(sample_script()), "marketing_closing_cancel")
    zh = replace(
        s,
        parts=replace(
            PARTS, closing_summary="优惠有效期为三个月。", closing_thanks="如需退订请回复TD。"
        ),
    )
    assert not found(zh, "marketing_closing_period")
    assert not found(zh, "marketing_closing_cancel")


# --- on stored versions -----------------------------------------------------------------


@pytest.mark.django_db
def test_factory_questionnaire_passes():
    version = english_questionnaire(publish=False)
    assert [f for f in check_version(version) if f.level == Level.ERROR] == []


@pytest.mark.django_db
def test_stored_rule_jumping_into_another_version():
    draft = english_questionnaire(publish=False)
    other = english_questionnaire(name="Other", publish=False)
    q2 = Question.objects.get(version=draft, code="Q2")
    rule = Rule.objects.get(question=q2)
    rule.target = Question.objects.get(version=other, code="Q5")
    rule.save()
    codes = {f.code for f in check_version(draft)}
    assert "rule_target_other_version" in codes


@pytest.mark.django_db
def test_stored_rule_naming_a_choice_of_another_question():
    draft = english_questionnaire(publish=False)
    q2 = Question.objects.get(version=draft, code="Q2")
    rule = Rule.objects.get(question=q2)
    rule.choices.set([Choice.objects.get(question__version=draft, question__code="Q1", code=1)])
    findings = [f for f in check_version(draft) if f.code == "rule_foreign_choice"]
    assert findings and findings[0].location == "Q2"
