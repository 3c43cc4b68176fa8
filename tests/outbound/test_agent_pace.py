"""The speaking pace: the time the console measured over each stretch of the script is kept
against the characters (Chinese) or words (English) read, less the pause allowed for the
customer's answer, and shown to the agent and the supervisor against the centre's range."""

import pytest
from django.urls import reverse

from outbound.agent import pace, services
from outbound.models import ScriptReading, WorkOrder
from surveys import services as surveys
from surveys.checker import speech_units
from surveys.models import Language, QuestionType
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign, customer_status
from tests.outbound.test_dialer_fixtures import phones

pytestmark = pytest.mark.django_db

org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier

GREETING = "您好，{customer_name}。"
QUESTION_1 = "您最近一个月打过客服热线吗？"  # 13 characters
QUESTION_2 = "您对我们的服务满意吗？"  # 10 characters


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    telephony_settings.WAIHU_ANSWER_PAUSE_SECONDS = 5
    telephony_settings.WAIHU_SPEECH_CHARS_PER_MINUTE_MIN = 120
    telephony_settings.WAIHU_SPEECH_CHARS_PER_MINUTE_MAX = 150
    return telephony_settings


def chinese_version(org):
    version = surveys.questionnaire_create(
        name="热线回访", language=Language.ZH_HANS, created_by=org.outbound_admin
    )
    surveys.version_update_parts(
        version=version,
        greeting_salutation=GREETING,
        greeting_introduction="我是客服中心的话务员。",
        transition_purpose="想请您花一分钟回答两个问题。",
        transition_duration_minutes=1,
        transition_cost="本次通话免费。",
        closing_summary="您的意见我们已经记下。",
        closing_thanks="感谢您的配合。",
        closing_wishes="祝您生活愉快！",
    )
    surveys.question_add(version=version, type=QuestionType.YES_NO, text=QUESTION_1)
    surveys.question_add(version=version, type=QuestionType.YES_NO, text=QUESTION_2)
    surveys.version_publish(version=version)
    version.refresh_from_db()
    return version


def _on_the_line(client, org, *, version=None):
    order = agent_campaign(org, phones=phones(1))
    if version is not None:
        WorkOrder.objects.filter(pk=order.pk).update(questionnaire=version)
        order.refresh_from_db()
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = services.interview_dial(interview=interview, agent=org.agent)
    customer_status(client, attempt, "in-progress")
    client.force_login(org.agent)
    return order, interview


def _labels(version, code) -> list[str]:
    question = version.questions.get(code=code)
    return list(question.choices.order_by("position").values_list("label", flat=True))


def test_chinese_readings_count_characters_less_the_answer_pause(client, org, carrier):
    version = chinese_version(org)
    _order, interview = _on_the_line(client, org, version=version)
    answer = reverse("agent:answer", args=[interview.pk])
    name = interview.contact.name
    # The opening and the first question, read in 21 seconds, the answer taking 5.
    client.post(answer, {"question": "Q1", "choices": "1", "elapsed_ms": "21000"})
    opening = ScriptReading.objects.get()
    read = [
        GREETING.replace("{customer_name}", name),
        "我是客服中心的话务员。",
        "想请您花一分钟回答两个问题。",
        "本次通话免费。",
        QUESTION_1,
        *_labels(version, "Q1"),
    ]
    assert opening.part == "opening" and opening.unit == "chars"
    assert opening.units == sum(speech_units(text, Language.ZH_HANS) for text in read)
    assert (opening.seconds, opening.reading_seconds) == (21.0, 16.0)
    assert opening.question.code == "Q1" and opening.agent == org.agent
    # The second question: 10 characters and the two answers' labels, read in 6 seconds.
    client.post(answer, {"question": "Q2", "choices": "1", "elapsed_ms": "11000"})
    second = ScriptReading.objects.get(part="question")
    units = 10 + sum(speech_units(label, Language.ZH_HANS) for label in _labels(version, "Q2"))
    assert second.units == units and second.reading_seconds == 6.0
    last = pace.last_reading_pace(interview)
    assert last.per_minute == pytest.approx(units / 6 * 60)
    # The page shows this call's pace against 120-150 characters a minute.
    body = client.get(reverse("agent:interview", args=[interview.pk])).content.decode()
    overall = (opening.units + second.units) / (16 + 6) * 60
    assert f"{overall:.0f} characters/min" in body
    assert "Aim for 120–150 characters a minute." in body
    verdict = pace.pace_of(opening.units + second.units, 22, "chars").verdict
    assert f"agent-pace-{verdict}" in body


def test_the_closing_is_timed_to_the_disposition(client, org, carrier):
    version = chinese_version(org)
    _order, interview = _on_the_line(client, org, version=version)
    answer = reverse("agent:answer", args=[interview.pk])
    client.post(answer, {"question": "Q1", "choices": "1"})
    client.post(answer, {"question": "Q2", "choices": "1"})
    assert not ScriptReading.objects.exists()  # nothing measured, nothing kept
    client.post(
        reverse("agent:finish", args=[interview.pk]),
        {"disposition": "completed", "closing_ms": "8000"},
    )
    closing = ScriptReading.objects.get()
    texts = ["您的意见我们已经记下。", "感谢您的配合。", "祝您生活愉快！"]
    assert closing.part == "closing" and closing.question is None
    assert closing.units == sum(speech_units(text, Language.ZH_HANS) for text in texts)
    # No answer is waited for in the closing: all of it is reading.
    assert closing.reading_seconds == 8.0


def test_english_readings_count_words_against_the_words_range(client, org, carrier):
    _order, interview = _on_the_line(client, org)
    answer = reverse("agent:answer", args=[interview.pk])
    client.post(answer, {"question": "Q1", "choices": "1"})
    client.post(answer, {"question": "Q2", "choices": "1", "elapsed_ms": "12000"})
    reading = ScriptReading.objects.get()
    # "Have you called our 10086 hotline in the last month?" and "Yes", "No".
    assert reading.unit == "words" and reading.units == 10 + 2
    result = pace.pace_over(ScriptReading.objects.all())
    assert result.per_minute == pytest.approx(12 / 7 * 60)
    assert (result.slow, result.fast) == (130, 160) and result.verdict == "slow"


@pytest.mark.parametrize("elapsed", ["", "-5", "0", "soon", str(31 * 60 * 1000)])
def test_a_measure_that_cannot_be_a_reading_is_dropped(client, org, carrier, elapsed):
    _order, interview = _on_the_line(client, org)
    response = client.post(
        reverse("agent:answer", args=[interview.pk]),
        {"question": "Q1", "choices": "1", "elapsed_ms": elapsed},
    )
    assert response.status_code == 302 and interview.response.answers.count() == 1
    assert not ScriptReading.objects.exists()


def test_a_reading_never_counts_less_than_a_second(client, org, carrier):
    _order, interview = _on_the_line(client, org)
    client.post(
        reverse("agent:answer", args=[interview.pk]),
        {"question": "Q1", "choices": "1", "elapsed_ms": "3000"},
    )
    reading = ScriptReading.objects.get()
    assert reading.seconds == 3.0 and reading.reading_seconds == 1.0
    assert pace.pace_of(reading.units, reading.reading_seconds, "words").verdict == "fast"
