"""Property tests on random in-memory scripts: the engine always ends, moving forward, and
scripts the checker passes always lead to the closing or a screen-out."""

from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from surveys.checker import answer_samples, check_script, has_errors
from surveys.engine import (
    AnswerValue,
    ChoiceRef,
    ChoiceSpec,
    End,
    Outcome,
    QuestionSpec,
    RuleSpec,
    Script,
    answer_validate,
    next_step,
    walk,
)
from tests.surveys.scripts import PARTS

TYPES = ["single", "multiple", "scale", "nps", "yes_no", "number", "text", "statement"]
CHOICE_TYPES = {"single", "multiple", "scale", "yes_no"}
FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@st.composite
def questions(draw, code: str, index: int, total: int, *, sloppy: bool) -> QuestionSpec:
    qtype = draw(st.sampled_from(TYPES))
    choices: tuple[ChoiceSpec, ...] = ()
    if qtype in CHOICE_TYPES:
        count = draw(st.integers(min_value=1, max_value=5))
        exclusive_last = qtype == "multiple" and draw(st.booleans())
        choices = tuple(
            ChoiceSpec(
                code=i,
                label=f"Option {i}",
                keypad=str(i),
                exclusive=exclusive_last and i == count,
            )
            for i in range(1, count + 1)
        )
    low = high = None
    if qtype == "number":
        low = Decimal(draw(st.integers(min_value=0, max_value=5)))
        high = low + draw(st.integers(min_value=0, max_value=20))
    allow_dk = draw(st.booleans())
    allow_refused = draw(st.booleans())
    later = [f"Q{j}" for j in range(index + 1, total)]
    earlier = [f"Q{j}" for j in range(index + 1)]
    rules = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if qtype in CHOICE_TYPES:
            conditions = ["choice", "any_of", "any"]
        elif qtype in ("number", "nps"):
            conditions = ["range", "any"]
        else:
            conditions = ["any"]
        if allow_dk or allow_refused:
            conditions.append("special")
        condition = draw(st.sampled_from(conditions))
        refs: tuple[ChoiceRef, ...] = ()
        rmin = rmax = None
        if condition == "choice":
            refs = (ChoiceRef(code, draw(st.sampled_from([c.code for c in choices]))),)
        elif condition == "any_of":
            picked = draw(
                st.lists(st.sampled_from([c.code for c in choices]), min_size=1, unique=True)
            )
            refs = tuple(ChoiceRef(code, c) for c in picked)
        elif condition == "range":
            rmin = Decimal(draw(st.integers(min_value=0, max_value=12)))
            rmax = rmin + draw(st.integers(min_value=0, max_value=10))
        actions = ["closing", "screen_out"] + (["goto"] * 3 if later else [])
        action = draw(st.sampled_from(actions))
        target = None
        if action == "goto":
            pool = later + (earlier if sloppy else [])
            target = draw(st.sampled_from(pool))
        rules.append(
            RuleSpec(
                condition=condition,
                action=action,
                choices=refs,
                min_value=rmin,
                max_value=rmax,
                target=target,
            )
        )
    return QuestionSpec(
        code=code,
        type=qtype,
        text=f"Question {code}?",
        required=draw(st.booleans()),
        allow_dont_know=allow_dk,
        allow_refused=allow_refused,
        min_value=low,
        max_value=high,
        choices=choices,
        rules=tuple(rules),
    )


@st.composite
def scripts(draw, *, sloppy: bool = False) -> Script:
    total = draw(st.integers(min_value=1, max_value=7))
    body = tuple(draw(questions(f"Q{i}", i, total, sloppy=sloppy)) for i in range(total))
    mode = draw(st.sampled_from(["agent", "agent", "voice"]))
    return Script(questions=body, parts=PARTS, language="en", mode=mode)


def valid_answers(script: Script, question: QuestionSpec) -> list[AnswerValue]:
    """Answers the interview would accept for the question: the checker's samples plus
    multiple choices of several options."""
    candidates = list(answer_samples(script, question))
    if question.type == "multiple":
        plain = [c.code for c in question.choices if not c.exclusive]
        if len(plain) > 1:
            candidates.append(AnswerValue.of_choices(*plain))
    accepted = []
    for value in candidates:
        try:
            accepted.append(answer_validate(question, value, mode=script.mode))
        except Exception:  # noqa: S112 - a sample the question refuses is skipped
            continue
    return accepted


def interview(script: Script, pick) -> tuple[list[str], End]:
    answers: dict[str, AnswerValue] = {}
    asked: list[str] = []
    for _ in range(len(script.questions) + 1):
        step = next_step(script, answers)
        if isinstance(step, End):
            return asked, step
        asked.append(step.code)
        options = valid_answers(script, step)
        assert options, f"{step.code} accepts no answer"
        answers[step.code] = pick(options)
    raise AssertionError("the interview did not end")


@FAST
@given(scripts(sloppy=True), st.data())
def test_the_engine_always_ends_moving_forward(script, data):
    """Even a script with errors (backward jumps) cannot loop: the engine ignores them."""
    asked, end = interview(script, lambda options: data.draw(st.sampled_from(options)))
    indexes = [script.index_of(code) for code in asked]
    assert indexes == sorted(set(indexes))
    assert end in (End.CLOSING, End.SCREEN_OUT)


@FAST
@given(scripts(), st.data())
def test_checked_scripts_reach_the_closing_or_a_screen_out(script, data):
    assume(not has_errors(check_script(script)))
    _asked, end = interview(script, lambda options: data.draw(st.sampled_from(options)))
    assert end in (End.CLOSING, End.SCREEN_OUT)
    # Some way through the script reaches the closing.
    assert _closing_reachable(script)


def _closing_reachable(script: Script) -> bool:
    """Depth-first over every accepted answer: does any interview complete? What follows a
    question does not depend on the answers before it, so each question is explored once."""
    seen: set[str] = set()

    def explore(answers: dict[str, AnswerValue]) -> bool:
        step = next_step(script, answers)
        if step == End.CLOSING:
            return True
        if isinstance(step, End) or step.code in seen:
            return False
        seen.add(step.code)
        return any(explore({**answers, step.code: value}) for value in valid_answers(script, step))

    return explore({})


@FAST
@given(scripts(), st.data())
def test_walk_agrees_with_next_step_and_marks_no_stale_answers(script, data):
    answers: dict[str, AnswerValue] = {}
    while True:
        step = next_step(script, answers)
        result = walk(script, answers)
        assert result.stale == frozenset()
        if isinstance(step, End):
            assert result.current is None
            expected = Outcome.SCREENED_OUT if step == End.SCREEN_OUT else Outcome.COMPLETED
            assert result.outcome == expected
            assert list(result.path) == list(answers)
            return
        assert result.current == step.code
        options = valid_answers(script, step)
        answers[step.code] = data.draw(st.sampled_from(options))
