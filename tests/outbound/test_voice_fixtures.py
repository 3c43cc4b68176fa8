"""A keypad questionnaire and a running voice campaign for the voice survey tests."""

from django.urls import reverse

from outbound.models import WorkOrder
from surveys import services as surveys
from surveys.models import Action, Condition, Language, QuestionType
from surveys.presets import Preset
from tests.outbound.test_dialer_fixtures import make_campaign, signed_post, start


def keypad_questionnaire(*, language: str = Language.EN, name: str = "Repair follow-up"):
    """Six keypad questions: a screen-out, a rating whose low marks skip ahead, several
    answers with an exclusive "none", a 0-10 score ending early when high, a statement
    read out, and a last yes/no."""
    version = surveys.questionnaire_create(name=name, language=language, mode="voice")
    surveys.version_update_parts(
        version=version,
        greeting_salutation="Hello {customer_name}.",
        greeting_introduction="This is the customer-service centre calling about your repair.",
        transition_purpose="Please answer a few questions with your keypad.",
        transition_duration_minutes=1,
        transition_cost="The call is free of charge.",
        closing_summary="You told us about your repair.",
        closing_thanks="Thank you for your time.",
        closing_wishes="Goodbye.",
    )
    q1 = surveys.question_add(version=version, type=QuestionType.YES_NO, text="Was it your line?")
    q2 = surveys.question_add(
        version=version,
        type=QuestionType.SCALE,
        preset=Preset.SATISFACTION_5,
        text="How satisfied are you with the repair?",
    )
    q3 = surveys.question_add(version=version, type=QuestionType.MULTIPLE, text="What went wrong?")
    for key, label in (("1", "The engineer was late"), ("2", "It took long")):
        surveys.choice_add(question=q3, label=label, keypad=key)
    nothing = surveys.choice_add(question=q3, label="Nothing", code=9, keypad="9", exclusive=True)
    q4 = surveys.question_add(
        version=version,
        type=QuestionType.NPS,
        text="From 0 to 10, would you recommend us? Key the number and then the hash key.",
    )
    surveys.question_add(
        version=version, type=QuestionType.STATEMENT, text="Two more words before we finish."
    )
    surveys.question_add(version=version, type=QuestionType.YES_NO, text="May we call you again?")
    surveys.rule_add(
        question=q1,
        condition=Condition.CHOICE,
        choices=[q1.choices.get(code=2)],
        action=Action.SCREEN_OUT,
    )
    surveys.rule_add(
        question=q2,
        condition=Condition.ANY_OF,
        choices=[q2.choices.get(code=1), q2.choices.get(code=2)],
        action=Action.GOTO,
        target=q4,
    )
    surveys.rule_add(
        question=q3, condition=Condition.CHOICE, choices=[nothing], action=Action.GOTO, target=q4
    )
    surveys.rule_add(
        question=q4, condition=Condition.RANGE, min_value=9, max_value=10, action=Action.CLOSING
    )
    findings = surveys.version_publish(version=version)
    version.refresh_from_db()
    assert version.is_published, [f.message for f in findings]
    return version


def voice_campaign(org, *, phones, version=None, **rules) -> WorkOrder:
    order = make_campaign(org, phones=phones, **rules)
    WorkOrder.objects.filter(pk=order.pk).update(
        mode=WorkOrder.Mode.VOICE, questionnaire=version or keypad_questionnaire()
    )
    order.refresh_from_db()
    return start(order, org)


def start_call(client, attempt, **params):
    path = reverse("voice:start", args=[attempt.pk])
    return signed_post(client, path, {"CallSid": attempt.call_sid or "CA1", **params})


def press(client, action: str, digits: str | None):
    """Posts a <Gather>'s action as Twilio does, with the keys pressed (none: no Digits)."""
    path = action.removeprefix("http://testserver")
    params = {"CallSid": "CA" + "1" * 32}
    if digits is not None:
        params["Digits"] = digits
    return signed_post(client, path, params)


def open_questionnaire(*, language: str = Language.EN, allow_dont_know: bool = False):
    """A yes/no question, an open question answered aloud, and a last yes/no."""
    chinese = language == Language.ZH_HANS
    version = surveys.questionnaire_create(
        name="服务建议" if chinese else "Suggestions", language=language, mode="voice"
    )
    if chinese:
        parts = {
            "greeting_salutation": "{customer_name}您好。",
            "greeting_introduction": "这里是客服中心。",
            "transition_purpose": "想请您对我们的服务提一点建议。",
            "transition_cost": "本次通话免费。",
            "closing_summary": "您的建议我们已经记下。",
            "closing_thanks": "谢谢您。",
            "closing_wishes": "祝您生活愉快，再见。",
        }
        texts = ("您对我们的服务满意吗？", "您希望我们改进哪些方面？", "我们可以再联系您吗？")
    else:
        parts = {
            "greeting_salutation": "Hello {customer_name}.",
            "greeting_introduction": "This is the customer-service centre.",
            "transition_purpose": "We would like your suggestions about our service.",
            "transition_cost": "The call is free of charge.",
            "closing_summary": "We have noted your suggestions.",
            "closing_thanks": "Thank you.",
            "closing_wishes": "Goodbye.",
        }
        texts = (
            "Are you satisfied with our service?",
            "What should we do better?",
            "May we call you again?",
        )
    surveys.version_update_parts(version=version, transition_duration_minutes=1, **parts)
    surveys.question_add(version=version, type=QuestionType.YES_NO, text=texts[0])
    surveys.question_add(
        version=version, type=QuestionType.TEXT, text=texts[1], allow_dont_know=allow_dont_know
    )
    surveys.question_add(version=version, type=QuestionType.YES_NO, text=texts[2])
    findings = surveys.version_publish(version=version)
    version.refresh_from_db()
    assert version.is_published, [f.message for f in findings]
    return version
