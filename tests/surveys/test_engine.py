from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from surveys.engine import (
    AnswerValue,
    ChoiceRef,
    End,
    Outcome,
    RuleSpec,
    next_step,
    walk,
)
from surveys.engine import answer_validate as validate
from tests.surveys.scripts import goto, sample_script, script, with_question, yes_no

A = AnswerValue


def test_first_question_comes_first():
    assert next_step(sample_script(), {}).code == "Q1"


def test_default_path_follows_position():
    s = sample_script()
    answers = {"Q1": A.of_choices(1), "Q2": A.of_choices(1, 2)}
    assert next_step(s, answers).code == "Q3"


def test_screen_out_rule_ends_the_interview():
    s = sample_script()
    assert next_step(s, {"Q1": A.of_choices(2)}) == End.SCREEN_OUT
    result = walk(s, {"Q1": A.of_choices(2)})
    assert result.outcome == Outcome.SCREENED_OUT
    assert result.path == ("Q1",)
    assert result.current is None


def test_goto_rule_skips_forward():
    s = sample_script()
    assert next_step(s, {"Q1": A.of_choices(1), "Q2": A.of_choices(9)}).code == "Q4"


def test_range_rule_goes_to_closing():
    s = sample_script()
    answers = {"Q1": A.of_choices(1), "Q2": A.of_choices(1), "Q3": A.of_number(50)}
    assert next_step(s, answers) == End.CLOSING
    assert walk(s, answers).outcome == Outcome.COMPLETED
    answers["Q3"] = A.of_number("49.5")
    assert next_step(s, answers).code == "Q4"


def test_last_question_leads_to_closing():
    s = sample_script()
    answers = {
        "Q1": A.of_choices(1),
        "Q2": A.of_choices(9),
        "Q4": A.of_text("fine"),
        "Q5": A.missing(),
    }
    result = walk(s, answers)
    assert result.path == ("Q1", "Q2", "Q4", "Q5")
    assert result.outcome == Outcome.COMPLETED
    assert result.stale == frozenset()


def test_first_matching_rule_wins():
    s = script(
        yes_no(
            "Q1",
            rules=(
                goto("Q1", "Q3", 1),
                RuleSpec("any", "screen_out"),
            ),
        ),
        yes_no("Q2"),
        yes_no("Q3"),
    )
    assert next_step(s, {"Q1": A.of_choices(1)}).code == "Q3"
    assert next_step(s, {"Q1": A.of_choices(2)}) == End.SCREEN_OUT


def test_any_of_matches_any_selected_choice():
    s = with_question(
        sample_script(),
        "Q2",
        rules=(
            RuleSpec(
                "any_of", "goto", choices=(ChoiceRef("Q2", 2), ChoiceRef("Q2", 3)), target="Q5"
            ),
        ),
    )
    base = {"Q1": A.of_choices(1)}
    assert next_step(s, {**base, "Q2": A.of_choices(1, 3)}).code == "Q5"
    assert next_step(s, {**base, "Q2": A.of_choices(1)}).code == "Q3"


def test_special_rule_matches_dont_know_and_refused():
    s = with_question(sample_script(), "Q2", rules=(RuleSpec("special", "goto", target="Q5"),))
    base = {"Q1": A.of_choices(1)}
    assert next_step(s, {**base, "Q2": A.dont_know()}).code == "Q5"
    assert next_step(s, {**base, "Q2": A.of_choices(1)}).code == "Q3"
    only_refused = with_question(
        s, "Q2", rules=(RuleSpec("special", "goto", special="refused", target="Q5"),)
    )
    assert next_step(only_refused, {**base, "Q2": A.dont_know()}).code == "Q3"
    assert next_step(only_refused, {**base, "Q2": A.refused()}).code == "Q5"


def test_missing_answer_takes_the_default_path():
    s = with_question(sample_script(), "Q2", rules=(RuleSpec("any", "goto", target="Q5"),))
    base = {"Q1": A.of_choices(1)}
    assert next_step(s, {**base, "Q2": A.missing()}).code == "Q3"
    assert next_step(s, {**base, "Q2": A.of_choices(2)}).code == "Q5"


def test_statement_takes_only_any_rules():
    s = script(
        yes_no("Q1"),
        sample_script()
        .questions[4]
        .__class__(
            code="Q2", type="statement", text="Note", rules=(RuleSpec("any", "goto", target="Q4"),)
        ),
        yes_no("Q3"),
        yes_no("Q4"),
    )
    assert next_step(s, {"Q1": A.of_choices(1), "Q2": A.missing()}).code == "Q4"


def test_backward_or_foreign_jumps_are_ignored():
    s = script(
        yes_no("Q1"),
        yes_no("Q2", rules=(goto("Q2", "Q1", 1), goto("Q2", "Q2", 1), goto("Q2", "Q9", 1))),
        yes_no("Q3"),
    )
    answers = {"Q1": A.of_choices(1), "Q2": A.of_choices(1)}
    assert next_step(s, answers).code == "Q3"
    elsewhere = with_question(
        s,
        "Q2",
        rules=(
            RuleSpec("choice", "goto", (ChoiceRef("Q2", 1),), target="Q3", target_elsewhere=True),
        ),
    )
    assert next_step(elsewhere, answers).code == "Q3"


def test_rule_with_choices_of_another_question_never_matches():
    s = script(yes_no("Q1", rules=(goto("Q2", "Q3", 1),)), yes_no("Q2"), yes_no("Q3"))
    assert next_step(s, {"Q1": A.of_choices(1)}).code == "Q2"


def test_walk_reports_stale_answers_after_a_changed_answer():
    s = sample_script()
    answers = {
        "Q1": A.of_choices(1),
        "Q2": A.of_choices(1),
        "Q3": A.of_number(10),
        "Q4": A.of_text("x"),
    }
    assert walk(s, answers).current == "Q5"
    answers["Q2"] = A.of_choices(9)
    result = walk(s, answers)
    assert result.stale == frozenset({"Q3"})
    assert result.path == ("Q1", "Q2", "Q4", "Q5")
    answers["Q1"] = A.of_choices(2)
    assert walk(s, answers).stale == frozenset({"Q2", "Q3", "Q4"})


def test_walk_previous_gives_the_question_asked_before():
    s = sample_script()
    result = walk(s, {"Q1": A.of_choices(1), "Q2": A.of_choices(9)})
    assert result.path == ("Q1", "Q2", "Q4")
    assert result.answered == ("Q1", "Q2")
    assert result.previous("Q4") == "Q2"
    assert result.previous("Q1") is None


def test_empty_script_goes_straight_to_the_closing():
    assert next_step(script(), {}) == End.CLOSING


# --- answer validation --------------------------------------------------------------------


def q(code: str):
    return sample_script().question(code)


def test_choice_codes_must_exist():
    with pytest.raises(ValidationError) as err:
        validate(q("Q1"), A.of_choices(7), mode="agent")
    assert err.value.error_list[0].code == "choice_unknown"


def test_single_choice_takes_one_choice():
    with pytest.raises(ValidationError) as err:
        validate(q("Q1"), A.of_choices(1, 2), mode="agent")
    assert err.value.error_list[0].code == "one_choice_only"
    assert validate(q("Q1"), A.of_choices(1), mode="agent").choices == {1}


def test_exclusive_choice_must_stand_alone():
    with pytest.raises(ValidationError) as err:
        validate(q("Q2"), A.of_choices(1, 9), mode="agent")
    assert err.value.error_list[0].code == "exclusive_combined"
    assert validate(q("Q2"), A.of_choices(9), mode="agent").choices == {9}
    assert validate(q("Q2"), A.of_choices(1, 2, 3), mode="agent").choices == {1, 2, 3}


def test_specify_text_kept_only_for_specify_choices():
    value = validate(q("Q2"), A.of_choices(3, specify={3: " my own "}), mode="agent")
    assert value.specify_text(3) == "my own"
    with pytest.raises(ValidationError) as err:
        validate(q("Q2"), A.of_choices(1, specify={1: "x"}), mode="agent")
    assert err.value.error_list[0].code == "specify_not_allowed"


def test_number_within_min_and_max():
    assert validate(q("Q3"), A.of_number(100), mode="agent").number == Decimal(100)
    with pytest.raises(ValidationError) as err:
        validate(q("Q3"), A.of_number(101), mode="agent")
    assert err.value.error_list[0].code == "above_max"
    with pytest.raises(ValidationError) as err:
        validate(q("Q3"), A.of_number(-1), mode="agent")
    assert err.value.error_list[0].code == "below_min"


def test_nps_is_a_whole_number_from_0_to_10():
    nps = q("Q3").__class__(code="N", type="nps", text="Score?")
    assert validate(nps, A.of_number(10), mode="agent").number == 10
    for bad in ("10.5", "11", "-1"):
        with pytest.raises(ValidationError):
            validate(nps, A.of_number(bad), mode="agent")


def test_required_question_needs_an_answer_except_in_voice():
    with pytest.raises(ValidationError) as err:
        validate(q("Q1"), A.missing(), mode="agent")
    assert err.value.error_list[0].code == "required"
    assert validate(q("Q1"), A.missing(), mode="voice").is_missing
    assert validate(q("Q4"), A.missing(), mode="agent").is_missing


def test_dont_know_and_refused_only_when_allowed():
    assert validate(q("Q2"), A.dont_know(), mode="agent").special == "dk"
    with pytest.raises(ValidationError) as err:
        validate(q("Q2"), A.refused(), mode="agent")
    assert err.value.error_list[0].code == "refused_not_allowed"
    with pytest.raises(ValidationError) as err:
        validate(q("Q1"), A.dont_know(), mode="agent")
    assert err.value.error_list[0].code == "dk_not_allowed"


def test_answer_kind_must_fit_the_type():
    with pytest.raises(ValidationError):
        validate(q("Q3"), A.of_text("many"), mode="agent")
    with pytest.raises(ValidationError):
        validate(q("Q4"), A.of_number(3), mode="agent")
    with pytest.raises(ValidationError):
        validate(q("Q1"), A(choices=frozenset({1}), text="x"), mode="agent")


def test_text_is_stripped():
    assert validate(q("Q4"), A.of_text("  fine  "), mode="agent").text == "fine"


def test_numbers_must_fit_the_stored_precision():
    with pytest.raises(ValidationError) as err:
        A.of_number("12345678901")
    assert err.value.error_list[0].code == "number_too_large"
    with pytest.raises(ValidationError) as err:
        A.of_number("1.23456")
    assert err.value.error_list[0].code == "number_precision"
    with pytest.raises(ValidationError) as err:
        A.of_number("lots")
    assert err.value.error_list[0].code == "not_a_number"
    assert A.of_number(2.5).number == Decimal("2.5")
