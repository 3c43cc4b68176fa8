"""In-memory Scripts for the engine and checker tests (no database)."""

from dataclasses import replace
from decimal import Decimal

from surveys.engine import ChoiceRef, ChoiceSpec, Parts, QuestionSpec, RuleSpec, Script

PARTS = Parts(
    greeting_salutation="Hello, {customer_name}.",
    greeting_introduction="This is {agent_name} from the service centre.",
    transition_purpose="We would like to ask about our service.",
    transition_duration_minutes=1,
    transition_cost="The call is free.",
    closing_summary="You told us about our service.",
    closing_thanks="Thank you.",
    closing_wishes="Have a good day.",
)


def yes_no(code: str, text: str = "Yes or no?", **kwargs) -> QuestionSpec:
    return QuestionSpec(
        code=code,
        type="yes_no",
        text=text,
        choices=(ChoiceSpec(1, "Yes", "1"), ChoiceSpec(2, "No", "2")),
        **kwargs,
    )


def goto(code: str, target: str, *choice_codes: int, condition: str = "choice") -> RuleSpec:
    return RuleSpec(
        condition=condition,
        action="goto",
        choices=tuple(ChoiceRef(code, c) for c in choice_codes),
        target=target,
    )


def script(*questions: QuestionSpec, **kwargs) -> Script:
    kwargs.setdefault("parts", PARTS)
    kwargs.setdefault("language", "en")
    return Script(questions=tuple(questions), **kwargs)


def sample_script(**kwargs) -> Script:
    """Q1 yes/no (no -> screen out); Q2 multiple with exclusive 9 (9 -> Q4);
    Q3 number 0-100 (>= 50 -> closing); Q4 text; Q5 statement."""
    return script(
        yes_no(
            "Q1",
            rules=(RuleSpec("choice", "screen_out", choices=(ChoiceRef("Q1", 2),)),),
        ),
        QuestionSpec(
            code="Q2",
            type="multiple",
            text="Which ones?",
            allow_dont_know=True,
            choices=(
                ChoiceSpec(1, "A", "1"),
                ChoiceSpec(2, "B", "2"),
                ChoiceSpec(3, "Other", "3", specify=True),
                ChoiceSpec(9, "None", "9", exclusive=True),
            ),
            rules=(goto("Q2", "Q4", 9),),
        ),
        QuestionSpec(
            code="Q3",
            type="number",
            text="How many?",
            min_value=Decimal(0),
            max_value=Decimal(100),
            rules=(RuleSpec("range", "closing", min_value=Decimal(50)),),
        ),
        QuestionSpec(code="Q4", type="text", text="Why?", required=False),
        QuestionSpec(code="Q5", type="statement", text="That was the last question."),
        **kwargs,
    )


def with_question(s: Script, code: str, **changes) -> Script:
    return replace(
        s, questions=tuple(replace(q, **changes) if q.code == code else q for q in s.questions)
    )
