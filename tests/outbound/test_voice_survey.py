"""The automated voice survey: greeting and transition read in the questionnaire's
language, keypad questions following the skip rules, one more try after a wrong key, the
closing and the hang-up, answering machines, questionnaires a keypad cannot answer, and a
call that ends halfway. Every document is checked as TwiML."""

import pytest
from django.urls import reverse

from outbound.models import CallAttempt, DialState, Interview, Outcome
from outbound.voice import services as voice
from outbound.voice.twiml import answer_from_digits
from surveys.engine import AnswerValue, script_build
from surveys.models import Language, Question, ResponseStatus
from surveys.services import response_answers
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import customer_status, parse_twiml
from tests.outbound.test_dialer_fixtures import open_attempt, phones
from tests.outbound.test_voice_fixtures import (
    keypad_questionnaire,
    press,
    start_call,
    voice_campaign,
)

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings = fx.org, fx.telephony_settings


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


@pytest.fixture
def attempt(org):
    order = voice_campaign(org, phones=phones(1))
    return open_attempt(order)


def _is_intro(gather) -> bool:
    return gather.get("action", "").endswith("/opt-out/")


def _gather(root):
    """The question's <Gather> (not the introduction's, which listens for the opt-out)."""
    gathers = [g for g in root.findall("Gather") if not _is_intro(g)]
    assert len(gathers) == 1
    return gathers[0]


def _intro(root):
    gathers = [g for g in root.findall("Gather") if _is_intro(g)]
    assert len(gathers) == 1
    return gathers[0]


def _text(say) -> str:
    """What a <Say> speaks, whether bare or inside its <prosody>."""
    return "".join(say.itertext())


def _said(root) -> list[str]:
    return [_text(say) for say in root.iter("Say")]


def _question(attempt, code: str) -> int:
    return Question.objects.get(version_id=attempt.campaign.questionnaire_id, code=code).pk


def _answers(attempt) -> dict:
    interview = Interview.objects.get(attempt=attempt)
    return response_answers(response=interview.response)


def test_start_reads_the_greeting_and_asks_the_first_question(client, attempt):
    response = start_call(client, attempt)
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    root = parse_twiml(response.content)
    said = _said(root)
    assert said[:4] == [
        "Hello Customer 0.",
        "This is the customer-service centre calling about your repair.",
        "Please answer a few questions with your keypad.",
        "The call is free of charge.",
    ]
    assert all(say.get("language") == "en-US" for say in root.iter("Say"))
    gather = _gather(root)
    interview = Interview.objects.get()
    assert interview.channel == "voice" and interview.attempt == attempt
    # The introduction is read inside a <Gather> listening for the opt-out key; with no key,
    # Twilio goes on to the first question's <Gather>.
    intro = _intro(root)
    assert [verb.tag for verb in root] == ["Gather", "Gather", "Redirect"]
    assert intro.get("numDigits") == "1" and intro.get("hints") == "9"
    assert intro.get("timeout") == "1"
    assert intro.get("action") == "http://testserver" + reverse(
        "voice:opt_out", args=[interview.pk]
    )
    assert [_text(say) for say in intro][-1] == "If you do not want us to call you again, press 9."
    assert gather.get("numDigits") == "1" and gather.get("hints") == "1,2"
    assert gather.get("timeout") == "8" and gather.get("finishOnKey") is None
    assert (
        gather.get("action")
        == "http://testserver"
        + reverse("voice:gather", args=[interview.pk, _question(attempt, "Q1")])
        + "?try=1"
    )
    assert [_text(say) for say in gather] == [
        "Was it your line?",
        "For Yes, press 1.",
        "For No, press 2.",
    ]
    # Pressing nothing: Twilio goes on to the <Redirect>, which posts to the same action.
    redirect = root.find("Redirect")
    assert redirect.text == gather.get("action") and redirect.get("method") == "POST"
    assert [verb.tag for verb in root][-2:] == ["Gather", "Redirect"]


def test_the_opt_out_key_puts_the_number_on_the_do_not_call_list(client, org, attempt):
    from outbound.contacts.selectors import excluded_numbers
    from outbound.models import DoNotCallEntry

    root = parse_twiml(start_call(client, attempt).content)
    # Another key during the introduction goes on to the first question.
    other = parse_twiml(press(client, _intro(root).get("action"), "1").content)
    assert _gather(other).get("action").endswith(f"/{_question(attempt, 'Q1')}/?try=1")
    assert not DoNotCallEntry.objects.exists()

    root = parse_twiml(press(client, _intro(root).get("action"), "9").content)
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    assert _said(root) == ["You will not be called again. Thank you, goodbye."]
    entry = DoNotCallEntry.objects.get()
    assert entry.phone == attempt.contact.phone and entry.campaign is None
    assert entry.source == DoNotCallEntry.Source.CALL
    assert excluded_numbers(campaign=attempt.campaign, phones=[attempt.contact.phone]) == {
        attempt.contact.phone: "do_not_call"
    }
    interview = Interview.objects.get()
    assert interview.disposition == "do_not_call" and interview.closed_at is not None
    assert interview.response.status == ResponseStatus.ABANDONED
    # The call's final status does not bring the contact back into the queue.
    customer_status(client, attempt, "completed", CallDuration="12")
    state = DialState.objects.get(pk=attempt.contact_id)
    assert state.status == "excluded" and state.excluded_reason == "do_not_call"
    # A late key press only hangs up.
    late = "http://testserver" + reverse("voice:opt_out", args=[interview.pk])
    assert [verb.tag for verb in parse_twiml(press(client, late, "9").content)] == ["Hangup"]


def test_without_an_opt_out_key_the_introduction_is_only_read(client, attempt, settings):
    settings.WAIHU_VOICE_OPT_OUT_KEY = ""
    root = parse_twiml(start_call(client, attempt).content)
    assert [verb.tag for verb in root] == ["Say", "Say", "Say", "Say", "Gather", "Redirect"]
    assert "press 9" not in " ".join(_said(root))


def test_keypad_answers_follow_the_skip_rules_to_the_closing(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    root = parse_twiml(press(client, _gather(root).get("action"), "1").content)
    assert "How satisfied are you with the repair?" in _said(root)
    # "Very satisfied" (1) skips the question about what went wrong.
    root = parse_twiml(press(client, _gather(root).get("action"), "1").content)
    gather = _gather(root)
    assert gather.get("finishOnKey") == "#" and gather.get("numDigits") is None
    assert gather.get("hints") == ",".join(str(n) for n in range(11))
    assert "Key a number from 0 to 10, then press the hash key." in _said(root)
    root = parse_twiml(press(client, gather.get("action"), "10#").content)
    assert [verb.tag for verb in root][-1] == "Hangup"
    assert _said(root) == ["You told us about your repair.", "Thank you for your time.", "Goodbye."]
    interview = Interview.objects.get()
    assert interview.closed_at is not None and interview.disposition == "completed"
    assert interview.response.status == ResponseStatus.COMPLETED
    answers = _answers(attempt)
    assert answers == {
        "Q1": AnswerValue.of_choices(1),
        "Q2": AnswerValue.of_choices(1),
        "Q4": AnswerValue.of_number(10),
    }


def test_several_keys_statements_and_the_last_question(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    root = parse_twiml(press(client, _gather(root).get("action"), "1").content)
    root = parse_twiml(press(client, _gather(root).get("action"), "4").content)
    gather = _gather(root)
    assert gather.get("finishOnKey") == "#" and gather.get("hints") == "1,2,9"
    assert "Press the key of every answer that applies, then the hash key." in _said(root)
    root = parse_twiml(press(client, gather.get("action"), "12#").content)
    root = parse_twiml(press(client, _gather(root).get("action"), "5#").content)
    # The statement is read before the last question's <Gather>.
    assert root[0].tag == "Say" and _text(root[0]) == "Two more words before we finish."
    assert "May we call you again?" in _said(root)
    root = parse_twiml(press(client, _gather(root).get("action"), "2").content)
    assert root[-1].tag == "Hangup"
    answers = _answers(attempt)
    assert answers["Q3"] == AnswerValue.of_choices(1, 2)
    assert answers["Q5"].is_missing and answers["Q6"] == AnswerValue.of_choices(2)


def test_a_wrong_key_is_asked_once_more_then_left_unanswered(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    first = _gather(root).get("action")
    root = parse_twiml(press(client, first, "7").content)
    gather = _gather(root)
    assert gather.get("action").endswith("?try=2")
    assert _text(gather[0]) == "Sorry, that key is not one of the answers."
    assert _text(gather[1]) == "Was it your line?"
    assert not _answers(attempt)
    # Nothing pressed the second time: recorded as no answer, and the survey goes on.
    root = parse_twiml(press(client, gather.get("action"), None).content)
    assert "How satisfied are you with the repair?" in _said(root)
    assert _answers(attempt)["Q1"].is_missing


def test_an_exclusive_choice_with_others_is_asked_again(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    root = parse_twiml(press(client, _gather(root).get("action"), "1").content)
    root = parse_twiml(press(client, _gather(root).get("action"), "3").content)
    root = parse_twiml(press(client, _gather(root).get("action"), "19#").content)
    assert _gather(root).get("action").endswith("?try=2")
    assert "Q3" not in _answers(attempt)


def test_a_repeated_request_carries_on_where_the_interview_is(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    action = _gather(root).get("action")
    press(client, action, "1")
    root = parse_twiml(press(client, action, "2").content)  # a replay of the first answer
    assert "How satisfied are you with the repair?" in _said(root)
    assert _answers(attempt)["Q1"] == AnswerValue.of_choices(1)


def test_unsigned_requests_are_refused(client, attempt):
    assert client.post(reverse("voice:start", args=[attempt.pk])).status_code == 403
    start_call(client, attempt)
    interview = Interview.objects.get()
    path = reverse("voice:gather", args=[interview.pk, _question(attempt, "Q1")]) + "?try=1"
    assert client.post(path, {"Digits": "1"}).status_code == 403


def test_screen_out_thanks_and_hangs_up(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    root = parse_twiml(press(client, _gather(root).get("action"), "2").content)
    assert _said(root) == ["Thank you for your time.", "Goodbye."]
    assert root[-1].tag == "Hangup"
    interview = Interview.objects.get()
    assert interview.disposition == "not_eligible"
    assert interview.response.status == ResponseStatus.SCREENED_OUT


def test_an_answering_machine_gets_no_survey(client, attempt):
    response = start_call(client, attempt, AnsweredBy="machine_end_beep")
    root = parse_twiml(response.content)
    assert [verb.tag for verb in root] == ["Hangup"]
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.MACHINE and attempt.answered_by == "machine_end_beep"
    assert attempt.finished_at is not None
    assert not Interview.objects.exists()
    # The campaign does not retry machines by default: the contact is finished.
    assert DialState.objects.get(pk=attempt.contact_id).status == DialState.Status.FINISHED
    # The carrier's own final callback changes nothing more.
    customer_status(client, attempt, "completed", AnsweredBy="machine_end_beep", CallDuration="4")
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.MACHINE


def test_a_person_answering_with_detection_on_gets_the_survey(client, attempt):
    root = parse_twiml(start_call(client, attempt, AnsweredBy="human").content)
    assert _gather(root) is not None


def test_a_questionnaire_for_agents_is_never_played(client, org):
    order = voice_campaign(org, phones=phones(1), version=org.questionnaire)
    attempt = open_attempt(order)
    root = parse_twiml(start_call(client, attempt).content)
    assert [verb.tag for verb in root] == ["Say", "Hangup"]
    assert "cannot be taken by phone" in _text(root[0])
    assert not Interview.objects.exists()


def test_a_chinese_questionnaire_is_read_in_chinese(client, org):
    version = keypad_questionnaire(language=Language.ZH_HANS, name="维修回访")
    order = voice_campaign(org, phones=phones(1), version=version)
    attempt = open_attempt(order)
    root = parse_twiml(start_call(client, attempt).content)
    assert {say.get("language") for say in root.iter("Say")} == {"cmn-CN"}
    assert {say.get("voice") for say in root.iter("Say")} == {"Polly.Zhiyu-Neural"}


def test_hanging_up_halfway_leaves_a_partial_interview(client, attempt):
    root = parse_twiml(start_call(client, attempt).content)
    press(client, _gather(root).get("action"), "1")
    customer_status(client, attempt, "completed", CallDuration="20")
    # The final status callback has closed it already; the periodic settling finds nothing.
    assert voice.voice_interviews_settle() == 0
    interview = Interview.objects.get()
    assert interview.closed_at is not None and interview.disposition == "partial"
    assert interview.response.status == ResponseStatus.PARTIAL
    assert set(response_answers(response=interview.response)) == {"Q1"}
    assert voice.interview_attempt_ended(attempt_id=attempt.pk) is False
    # A late request for that call only hangs up.
    root = parse_twiml(press(client, _gather(root).get("action"), "1").content)
    assert [verb.tag for verb in root] == ["Hangup"]


def test_digits_are_read_into_answers():
    version = keypad_questionnaire()
    script = script_build(version)
    q1, q2, q3, q4 = (script.question(code) for code in ("Q1", "Q2", "Q3", "Q4"))
    assert answer_from_digits(q1, "2") == AnswerValue.of_choices(2)
    assert answer_from_digits(q1, "12") is None and answer_from_digits(q1, "") is None
    assert answer_from_digits(q2, "5") == AnswerValue.of_choices(5)
    assert answer_from_digits(q3, "21#") == AnswerValue.of_choices(1, 2)
    assert answer_from_digits(q3, "3#") is None
    assert answer_from_digits(q4, "0#") == AnswerValue.of_number(0)
    assert answer_from_digits(q4, "11#") is None and answer_from_digits(q4, "1*5#") is None
    assert answer_from_digits(q4, "x") is None


def test_the_start_is_the_same_document_for_the_dialers_webhook(rf, attempt):
    request = rf.post("/", {"CallSid": "CA1"})
    document = voice.voice_start_twiml(attempt=attempt, request=request)
    root = parse_twiml(document)
    assert _gather(root).get("numDigits") == "1"
    assert CallAttempt.objects.get().interviews.count() == 1


def test_the_star_key_answers_dont_know_where_the_question_allows_it(client, org):
    from dataclasses import replace

    from outbound.voice.twiml import keys_offered, prompts
    from surveys.models import Question, Special

    version = keypad_questionnaire()
    script = script_build(version)
    q2, q3, q4 = (script.question(code) for code in ("Q2", "Q3", "Q4"))
    assert answer_from_digits(q2, "*") is None and "*" not in keys_offered(q2)
    for spec, keys in ((q2, "*"), (q3, "*#"), (q4, "*#")):
        allowing = replace(spec, allow_dont_know=True)
        assert answer_from_digits(allowing, keys) == AnswerValue.dont_know(), spec.code
        assert keys_offered(allowing)[-1] == "*"
    assert prompts(replace(q2, allow_dont_know=True), {}, Language.EN)[-1] == (
        "If you don't know, press the star key."
    )
    assert prompts(replace(q4, allow_dont_know=True), {}, Language.EN)[-1] == (
        "If you don't know, press the star key, then the hash key."
    )

    # On a call: the satisfaction question accepts "don't know", and the star records it.
    Question.objects.filter(version=version, code="Q2").update(allow_dont_know=True)
    order = voice_campaign(org, phones=phones(1), version=version)
    attempt = open_attempt(order)
    root = parse_twiml(start_call(client, attempt).content)
    root = parse_twiml(press(client, _gather(root).get("action"), "1").content)
    assert "If you don't know, press the star key." in _said(root)
    press(client, _gather(root).get("action"), "*")
    assert _answers(attempt)["Q2"].special == Special.DONT_KNOW


def test_question_codes_with_any_characters_are_answered_through_signed_urls(client, org):
    """Questions are addressed by id: a code with ; = / ? # % or spaces once broke the
    signed address (a 403 on every key press, or a 500)."""
    version = keypad_questionnaire()
    Question.objects.filter(version=version, code="Q1").update(code="Q1;a=b/c")
    Question.objects.filter(version=version, code="Q2").update(code="Q 2?#%")
    attempt = open_attempt(voice_campaign(org, phones=phones(1), version=version))
    root = parse_twiml(start_call(client, attempt).content)
    action = _gather(root).get("action")
    assert action.endswith(f"/questions/{_question(attempt, 'Q1;a=b/c')}/?try=1")
    response = press(client, action, "1")
    assert response.status_code == 200
    root = parse_twiml(response.content)
    assert "How satisfied are you with the repair?" in _said(root)
    press(client, _gather(root).get("action"), "2")
    assert _answers(attempt) == {
        "Q1;a=b/c": AnswerValue.of_choices(1),
        "Q 2?#%": AnswerValue.of_choices(2),
    }
