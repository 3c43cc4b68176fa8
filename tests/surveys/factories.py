"""Questionnaires for the surveys tests, built through the services."""

from surveys import services
from surveys.models import Action, Condition, Language, QuestionnaireVersion, QuestionType
from surveys.presets import Preset

ENGLISH_NAME = "Hotline follow-up"


def english_parts() -> dict:
    return {
        "greeting_salutation": "Good morning, {customer_name}.",
        "greeting_introduction": (
            "This is {agent_name}, agent number {agent_no}, calling from the customer-service "
            "centre."
        ),
        "transition_purpose": "We would like to ask you a few questions about our hotline.",
        "transition_duration_minutes": 2,
        "transition_cost": "The call is free of charge for you.",
        "closing_summary": "You told us how you use the hotline and our services.",
        "closing_thanks": "Thank you for your time.",
        "closing_wishes": "Have a nice day.",
    }


def english_questionnaire(
    *, name: str = ENGLISH_NAME, publish: bool = True, mode: str = "agent", created_by=None
) -> QuestionnaireVersion:
    """Eight questions: an age screen-out, a hotline branch, a multiple choice with an
    exclusive "None", a number, a recommendation score with a jump to the closing."""
    version = services.questionnaire_create(
        name=name, language=Language.EN, mode=mode, created_by=created_by
    )
    services.version_update_parts(version=version, **english_parts())
    q1 = services.question_add(
        version=version, type=QuestionType.YES_NO, text="Are you 18 years old or older?"
    )
    q2 = services.question_add(
        version=version,
        type=QuestionType.YES_NO,
        text="Have you called our 10086 hotline in the last month?",
    )
    q3 = services.question_add(
        version=version,
        type=QuestionType.SCALE,
        preset=Preset.SATISFACTION_5,
        text="How satisfied were you with the hotline?",
        allow_dont_know=True,
    )
    services.question_add(
        version=version,
        type=QuestionType.TEXT,
        text="What could the hotline do better?",
        instruction="Write down the main points.",
        required=False,
    )
    q5 = services.question_add(
        version=version,
        type=QuestionType.MULTIPLE,
        text="Which of these services do you use?",
        required=True,  # "None of these" lets everyone answer
    )
    for label in ("Mobile internet", "Ring-back tones"):
        services.choice_add(question=q5, label=label)
    services.choice_add(question=q5, label="Something else", specify=True)
    none = services.choice_add(question=q5, label="None of these", code=9, exclusive=True)
    q6 = services.question_add(
        version=version,
        type=QuestionType.NUMBER,
        text="How many hours a week do you use them?",
        min_value=0,
        max_value=168,
        allow_refused=True,
    )
    q7 = services.question_add(
        version=version,
        type=QuestionType.NPS,
        text="From 0 to 10, how likely are you to recommend us to a friend?",
    )
    services.question_add(
        version=version,
        type=QuestionType.TEXT,
        text="What is the main reason for your score?",
        required=False,
    )
    no_adult = q1.choices.get(code=2)
    services.rule_add(
        question=q1, condition=Condition.CHOICE, choices=[no_adult], action=Action.SCREEN_OUT
    )
    services.rule_add(
        question=q2,
        condition=Condition.CHOICE,
        choices=[q2.choices.get(code=2)],
        action=Action.GOTO,
        target=q5,
    )
    services.rule_add(question=q3, condition=Condition.SPECIAL, action=Action.GOTO, target=q5)
    services.rule_add(
        question=q5, condition=Condition.CHOICE, choices=[none], action=Action.GOTO, target=q7
    )
    services.rule_add(
        question=q7, condition=Condition.RANGE, min_value=9, max_value=10, action=Action.CLOSING
    )
    del q6
    if publish:
        services.version_publish(version=version)
    version.refresh_from_db()
    return version
