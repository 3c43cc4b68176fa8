"""The agent console: taking the next contact, the call through the agent's own phone, the
script with its skip rules and going back, dispositions and what they do to the contact,
partial interviews resumed by another agent, who may see what."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from outbound.agent import selectors, services
from outbound.contacts.selectors import is_excluded
from outbound.dialer.services import contact_set_callback
from outbound.models import CallAttempt, DialState, DoNotCallEntry, Interview, Outcome
from surveys.engine import AnswerValue
from surveys.models import ResponseStatus
from surveys.services import response_answers
from tests.factories import UserFactory
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import (
    AGENT_PHONE,
    agent_campaign,
    choice,
    customer_status,
    parse_twiml,
    second_agent,
)
from tests.outbound.test_dialer_fixtures import phones, signed_post

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
org, telephony_settings, carrier = fx.org, fx.telephony_settings, fx.carrier


@pytest.fixture(autouse=True)
def _settings(telephony_settings):
    return telephony_settings


def _dial(interview, agent):
    services.interview_dial(interview=interview, agent=agent)
    interview.refresh_from_db()
    return interview.attempt


def _connect(client, attempt):
    """The customer answers: the carrier reports the customer's leg in progress."""
    customer_status(client, attempt, "in-progress")


def _answer(interview, agent, code, value):
    interview.refresh_from_db()
    return services.interview_answer(
        interview=interview, agent=agent, question_code=code, value=value
    )


def _answered(interview) -> dict:
    interview.response.refresh_from_db()
    return response_answers(response=interview.response)


def test_next_contact_is_held_for_the_agent_and_shown_before_dialling(client, org):
    order = agent_campaign(org, phones=phones(2))
    contact = order.contacts.order_by("pk").first()
    contact.attributes = {"plan": "Gold 88"}
    contact.brand = "GoTone"
    contact.save()
    client.force_login(org.agent)
    response = client.post(reverse("agent:next", args=[order.pk]))
    interview = Interview.objects.get()
    assert response.url == reverse("agent:interview", args=[interview.pk])
    assert interview.contact == contact and interview.agent == org.agent
    assert interview.reserved_until > timezone.now()
    assert DialState.objects.get(pk=contact.pk).status == DialState.Status.DIALING
    page = client.get(response.url).content.decode()
    for text in (contact.name, contact.phone, "Gold 88", "GoTone", "Never called before."):
        assert text in page
    # The greeting with its placeholders filled, the first question and its controls.
    assert f"Good morning, {contact.name}." in page
    assert "agent number 1001" in page
    assert "Are you 18 years old or older?" in page
    assert 'name="choices"' in page
    # Asking again gives the same contact: an agent holds one at a time.
    client.post(reverse("agent:next", args=[order.pk]))
    assert Interview.objects.count() == 1


def test_nobody_due_says_so(client, org):
    order = agent_campaign(org, phones=phones(1))
    DialState.objects.update(next_attempt_at=timezone.now() + datetime.timedelta(hours=1))
    client.force_login(org.agent)
    response = client.post(reverse("agent:next", args=[order.pk]), follow=True)
    assert "Nobody is due" in response.content.decode()
    assert not Interview.objects.exists()


def test_agents_see_only_their_campaigns_and_interviews(client, org):
    order = agent_campaign(org, phones=phones(2))
    outsider = second_agent(org, username="outsider")
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(outsider)
    assert order.title not in client.get(reverse("agent:campaigns")).content.decode()
    assert client.post(reverse("agent:next", args=[order.pk])).status_code == 404
    for name in ("interview", "call"):
        assert client.get(reverse(f"agent:{name}", args=[interview.pk])).status_code == 404
    for name in ("dial", "hang_up", "answer", "back", "finish", "release"):
        assert client.post(reverse(f"agent:{name}", args=[interview.pk])).status_code == 404
    assert client.get(reverse("agent:desk", args=[order.pk])).status_code == 404
    assert client.post(reverse("agent:sign_in", args=[order.pk])).status_code == 404
    client.force_login(org.requester)
    assert client.get(reverse("agent:campaigns")).status_code == 404
    for name in ("pause", "resume", "sign_out"):
        assert client.post(reverse(f"agent:{name}"), {"reason": "break"}).status_code == 404
    client.force_login(org.agent)
    assert client.get(reverse("agent:campaigns")).status_code == 200
    # Every change is a POST.
    assert client.get(reverse("agent:next", args=[order.pk])).status_code == 405
    assert client.get(reverse("agent:dial", args=[interview.pk])).status_code == 405


def test_a_stopped_or_voice_campaign_is_not_worked(client, org):
    order = agent_campaign(org, phones=phones(1))
    order.dialing.state = "paused"
    order.dialing.save()
    client.force_login(org.agent)
    assert client.post(reverse("agent:next", args=[order.pk])).status_code == 404


def test_excluded_contacts_and_closed_windows_are_passed_over(org):
    order = agent_campaign(org, phones=phones(3))
    first, second, third = order.contacts.order_by("pk")
    DoNotCallEntry.objects.create(phone=first.phone, source="manual")
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    assert interview.contact == second
    state = DialState.objects.get(pk=first.pk)
    assert state.status == DialState.Status.EXCLUDED and state.excluded_reason == "do_not_call"
    # With the calling window shut, nobody is given and the contact waits for the opening.
    services.interview_release(interview=interview, agent=org.agent)
    order.dialing.weekly_hours = {}
    order.dialing.save()
    order.dialing.refresh_from_db()
    order = type(order).objects.get(pk=order.pk)
    assert services.contact_reserve(campaign=order, agent=org.agent) is None
    assert DialState.objects.get(pk=third.pk).status == DialState.Status.FINISHED


def test_dial_rings_the_agent_first_and_the_bridge_dials_the_customer(client, org, carrier):
    order = agent_campaign(org, phones=phones(1), caller_id="+8673110099")
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    assert attempt.number == 1 and attempt.to == interview.contact.phone
    assert attempt.caller_id == "+8673110099"
    placed = carrier.calls[0]
    assert placed["to"] == AGENT_PHONE
    assert placed["twiml_url"] == "http://testserver" + reverse("voice:bridge", args=[attempt.pk])
    assert placed["status_callback"].endswith(reverse("voice:bridge_status", args=[attempt.pk]))
    assert DialState.objects.get(pk=interview.contact_id).attempts == 1

    path = reverse("voice:bridge", args=[attempt.pk])
    assert client.post(path, {"CallSid": "CA1"}).status_code == 403
    response = signed_post(client, path, {"CallSid": "CA" + "a" * 32, "CallStatus": "in-progress"})
    assert response.status_code == 200
    root = parse_twiml(response.content)
    # Nothing follows the <Dial>: its action tells the agent how the customer leg ended.
    assert [verb.tag for verb in root] == ["Say", "Dial"]
    dial = root.find("Dial")
    assert dial.get("callerId") == "+8673110099" and dial.get("answerOnBridge") == "true"
    assert dial.get("action") == "http://testserver" + reverse(
        "voice:bridge_dialled", args=[attempt.pk]
    )
    assert dial.get("method") == "POST"
    number = dial.find("Number")
    assert number.text == interview.contact.phone
    assert number.get("statusCallback") == "http://testserver" + reverse(
        "telephony:status", args=[attempt.pk]
    )
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"
    # The carrier places the customer's leg from the <Dial>; Waihu places only the agent's.
    assert len(carrier.calls) == 1


def _dial_ended(client, attempt, **params):
    """The bridge <Dial>'s action request, on the agent's call, signed as Twilio signs it."""
    path = reverse("voice:bridge_dialled", args=[attempt.pk])
    params = {"CallSid": "CA" + "a" * 32, "CallStatus": "in-progress", **params}
    return signed_post(client, path, params)


def test_the_dial_action_records_what_the_customer_legs_callbacks_did_not(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    path = reverse("voice:bridge_dialled", args=[attempt.pk])
    assert client.post(path, {"DialCallStatus": "busy"}).status_code == 403
    child = "CA" + "b" * 32
    for _twice in range(2):  # a repeated request changes nothing
        response = _dial_ended(
            client,
            attempt,
            DialCallStatus="no-answer",
            DialCallSid=child,
            DialCallDuration="0",
            DialBridged="false",
        )
        root = parse_twiml(response.content)
        assert [verb.tag for verb in root] == ["Say", "Hangup"]
        assert "".join(root.find("Say").itertext()).startswith("The customer did not answer.")
        attempt.refresh_from_db()
        assert (attempt.status, attempt.outcome) == ("no-answer", Outcome.NO_ANSWER)
        assert attempt.call_sid == child
    assert attempt.events.get(status="no-answer").source == "callback"
    # The retry policy applies as to any unanswered call.
    state = DialState.objects.get(pk=interview.contact_id)
    assert state.status == DialState.Status.PENDING and state.next_attempt_at is not None


def test_the_dial_action_of_an_answered_call_keeps_its_length_and_recording(client, org, carrier):
    order = agent_campaign(org, phones=phones(1), record=True)
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    _dial_ended(
        client,
        attempt,
        DialCallStatus="completed",
        DialCallSid="CA" + "c" * 32,
        DialCallDuration="75",
        DialBridged="true",
        RecordingUrl=recording,
    )
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.duration) == (Outcome.ANSWERED, 75)
    assert attempt.recording_url == recording


def test_the_dial_action_leaves_an_attempt_its_callbacks_finished(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    customer_status(client, attempt, "initiated", ParentCallSid="CA" + "a" * 32)
    customer_status(client, attempt, "completed", CallDuration="42")
    response = _dial_ended(
        client,
        attempt,
        DialCallStatus="completed",
        DialCallSid=f"CA{attempt.pk:032d}",
        DialCallDuration="41",
        DialBridged="true",
    )
    assert "The call with the customer has ended." in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.call_sid == f"CA{attempt.pk:032d}"
    assert (attempt.outcome, attempt.duration) == (Outcome.ANSWERED, 42)


def test_agent_not_answering_drops_the_customer_attempt_and_keeps_the_hold(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    path = reverse("voice:bridge_status", args=[attempt.pk])
    for status in ("initiated", "ringing", "no-answer"):
        assert (
            signed_post(client, path, {"CallSid": "CA9", "CallStatus": status}).status_code == 204
        )
    assert not CallAttempt.objects.exists()
    state = DialState.objects.get(pk=interview.contact_id)
    assert state.status == DialState.Status.DIALING and state.attempts == 0
    interview.refresh_from_db()
    assert interview.agent_call_status == "no-answer" and interview.attempt is None
    # The agent may dial again.
    assert _dial(interview, org.agent).number == 1


def test_agent_phone_failing_keeps_the_contact(org, carrier):
    from outbound import telephony

    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    carrier.refuse[AGENT_PHONE] = telephony.CallRejected("refused")
    with pytest.raises(Exception, match="could not be called"):
        services.interview_dial(interview=interview, agent=org.agent)
    assert not CallAttempt.objects.exists()
    assert DialState.objects.get(pk=interview.contact_id).status == DialState.Status.DIALING


def test_call_state_follows_the_status_callbacks(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    url = reverse("agent:call", args=[interview.pk])
    assert client.get(url).json()["phase"] == "idle"
    attempt = _dial(interview, org.agent)
    assert client.get(url).json()["phase"] == "agent_ringing"
    customer_status(client, attempt, "ringing")
    assert client.get(url).json()["phase"] == "ringing"
    customer_status(client, attempt, "in-progress")
    state = client.get(url).json()
    assert state["phase"] == "connected" and state["duration"] is not None
    customer_status(client, attempt, "completed", CallDuration="42")
    state = client.get(url).json()
    assert state["phase"] == "ended" and state["duration"] == 42
    assert state["outcome"] == Outcome.ANSWERED
    assert [e["status"] for e in state["events"]][-3:] == ["ringing", "in-progress", "completed"]


def test_the_script_follows_the_skip_rules_and_back_drops_answers(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    _connect(client, _dial(interview, org.agent))
    client.force_login(org.agent)
    page = reverse("agent:interview", args=[interview.pk])
    answer = reverse("agent:answer", args=[interview.pk])
    assert client.post(answer, {"question": "Q1", "choices": "1"}).status_code == 302
    client.post(answer, {"question": "Q2", "choices": "1"})
    client.post(answer, {"question": "Q3", "choices": "2"})
    body = client.get(page).content.decode()
    assert "What could the hotline do better?" in body
    assert "Write down the main points." in body  # the instruction beside the question
    client.post(answer, {"question": "Q4", "text": "Shorter waits"})
    assert set(_answered(interview)) == {"Q1", "Q2", "Q3", "Q4"}
    # Back twice, to Q3 and then to Q2; its answer is shown to be changed.
    client.post(reverse("agent:back", args=[interview.pk]))
    client.post(reverse("agent:back", args=[interview.pk]))
    interview.response.refresh_from_db()
    assert interview.response.current_question.code == "Q3"
    client.post(reverse("agent:back", args=[interview.pk]))
    body = client.get(page).content.decode()
    assert (
        'value="Q2"' in body
        and 'value="1" class="form-check-input" id="id_choices_0" checked' in body
    )
    # "No" jumps to Q5: the answers to Q3 and Q4 are no longer on the path.
    client.post(answer, {"question": "Q2", "choices": "2"})
    assert set(_answered(interview)) == {"Q1", "Q2"}
    interview.response.refresh_from_db()
    assert interview.response.current_question.code == "Q5"
    # A stale form for a question no longer current changes nothing.
    client.post(answer, {"question": "Q3", "choices": "1"})
    assert set(_answered(interview)) == {"Q1", "Q2"}
    # Don't know is offered where allowed; an invalid answer is shown, not saved.
    response = client.post(answer, {"question": "Q5", "choices": ["1", "9"]})
    assert response.status_code == 200 and "excludes the other choices" in response.content.decode()
    client.post(answer, {"question": "Q5", "choices": "9"})
    client.post(answer, {"question": "Q7", "number": "10"})
    interview.response.refresh_from_db()
    assert interview.response.status == ResponseStatus.COMPLETED
    body = client.get(page).content.decode()
    assert "Thank you for your time." in body and 'data-outcome="completed"' in body
    response = client.post(
        reverse("agent:finish", args=[interview.pk]), {"disposition": "completed"}
    )
    assert response.status_code == 302
    interview.refresh_from_db()
    assert interview.disposition == "completed" and interview.closed_at is not None
    assert DialState.objects.get(pk=interview.contact_id).status == DialState.Status.REACHED
    assert CallAttempt.objects.get().outcome == Outcome.ANSWERED


def test_screen_out_ends_the_script(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    _connect(client, _dial(interview, org.agent))
    _answer(interview, org.agent, "Q1", choice(2))
    client.force_login(org.agent)
    body = client.get(reverse("agent:interview", args=[interview.pk])).content.decode()
    assert 'data-outcome="screened_out"' in body
    services.interview_finish(interview=interview, agent=org.agent, disposition="not_eligible")
    interview.response.refresh_from_db()
    assert interview.response.status == ResponseStatus.SCREENED_OUT


def test_back_from_a_screen_out_reopens_the_interview(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    _connect(client, _dial(interview, org.agent))
    _answer(interview, org.agent, "Q1", choice(2))
    interview.response.refresh_from_db()
    assert interview.response.status == ResponseStatus.SCREENED_OUT
    client.force_login(org.agent)
    page = reverse("agent:interview", args=[interview.pk])
    assert 'data-testid="answer-back"' in client.get(page).content.decode()
    # The customer misheard: back to Q1 from the end, and the interview goes on.
    client.post(reverse("agent:back", args=[interview.pk]))
    interview.response.refresh_from_db()
    assert interview.response.status == ResponseStatus.IN_PROGRESS
    assert interview.response.current_question.code == "Q1"
    assert interview.response.finished_at is None
    _answer(interview, org.agent, "Q1", choice(1))
    interview.response.refresh_from_db()
    assert interview.response.current_question.code == "Q2"
    assert 'data-outcome="screened_out"' not in client.get(page).content.decode()


def test_completed_needs_the_end_of_the_script(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    finish = reverse("agent:finish", args=[interview.pk])
    response = client.post(finish, {"disposition": "completed"})
    assert "Dial the customer first" in response.content.decode()
    _connect(client, _dial(interview, org.agent))
    _answer(interview, org.agent, "Q1", choice(1))
    response = client.post(finish, {"disposition": "completed"})
    assert response.status_code == 200 and "has not reached its end" in response.content.decode()
    assert Interview.objects.get().closed_at is None


def test_partial_interview_is_resumed_by_another_agent(client, org, carrier):
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(1), team=[colleague])
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    customer_status(client, attempt, "in-progress")
    _answer(interview, org.agent, "Q1", choice(1))
    _answer(interview, org.agent, "Q2", choice(1))
    # The line drops: the carrier reports the end, the agent records a partial interview.
    customer_status(client, attempt, "completed", CallDuration="35")
    services.interview_finish(
        interview=interview, agent=org.agent, disposition="partial", notes="Line dropped at Q3"
    )
    interview.refresh_from_db()
    assert interview.closed_at is None and interview.reserved_until is None
    assert interview.response.status == ResponseStatus.IN_PROGRESS
    state = DialState.objects.get(pk=interview.contact_id)
    assert state.status == DialState.Status.PENDING and state.next_attempt_at is not None

    resumed = services.contact_reserve(campaign=order, agent=colleague)
    assert resumed.pk == interview.pk and resumed.agent == colleague
    client.force_login(colleague)
    body = client.get(reverse("agent:interview", args=[resumed.pk])).content.decode()
    assert "How satisfied were you with the hotline?" in body  # Q3, where it stopped
    assert "Line dropped at Q3" in body and "#1" in body
    second = _dial(resumed, colleague)
    assert second.number == 2
    _connect(client, second)
    _answer(resumed, colleague, "Q3", AnswerValue.dont_know())
    _answer(resumed, colleague, "Q5", choice(9))
    _answer(resumed, colleague, "Q7", AnswerValue.of_number(9))
    customer_status(client, second, "completed", CallDuration="60")
    services.interview_finish(interview=resumed, agent=colleague, disposition="completed")
    resumed.refresh_from_db()
    assert resumed.closed_at is not None and resumed.disposition == "completed"
    assert set(_answered(resumed)) == {"Q1", "Q2", "Q3", "Q5", "Q7"}
    assert resumed.response.status == ResponseStatus.COMPLETED
    assert DialState.objects.get(pk=resumed.contact_id).status == DialState.Status.REACHED


def test_callback_for_this_agent_comes_back_to_them_only(org, carrier):
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(1), team=[colleague])
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    _dial(interview, org.agent)
    now = timezone.now()
    at = now + datetime.timedelta(hours=2)
    services.interview_finish(
        interview=interview,
        agent=org.agent,
        disposition="callback",
        callback_at=at,
        callback_mine=True,
        notes="After the meeting",
    )
    state = DialState.objects.get(pk=interview.contact_id)
    assert state.status == DialState.Status.PENDING
    assert state.callback_at == at and state.next_attempt_at == at
    interview.refresh_from_db()
    assert interview.callback_agent == org.agent and interview.closed_at is None
    # Not before its time, and not for a colleague even then.
    assert services.contact_reserve(campaign=order, agent=org.agent, now=now) is None
    later = at + datetime.timedelta(minutes=1)
    assert services.contact_reserve(campaign=order, agent=colleague, now=later) is None
    again = services.contact_reserve(campaign=order, agent=org.agent, now=later)
    assert again.pk == interview.pk


def test_callback_for_anyone_and_the_dialers_own_callback(org, carrier):
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(2), team=[colleague])
    first = services.contact_reserve(campaign=order, agent=org.agent)
    _dial(first, org.agent)
    at = timezone.now() + datetime.timedelta(hours=1)
    services.interview_finish(
        interview=first, agent=org.agent, disposition="callback", callback_at=at
    )
    later = at + datetime.timedelta(minutes=1)
    # A callback comes before contacts merely due.
    taken = services.contact_reserve(campaign=order, agent=colleague, now=later)
    assert taken.contact_id == first.contact_id
    other = order.contacts.exclude(pk=first.contact_id).get()
    contact_set_callback(contact=other, at=later)
    assert services.contact_reserve(campaign=order, agent=org.agent, now=later).contact == other


def test_do_not_call_disposition_adds_the_number_to_the_list(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    _connect(client, _dial(interview, org.agent))
    services.interview_finish(
        interview=interview, agent=org.agent, disposition="do_not_call", notes="Angry"
    )
    phone = interview.contact.phone
    entry = DoNotCallEntry.objects.get(phone=phone)
    assert entry.source == "call" and entry.added_by == org.agent and entry.campaign is None
    assert is_excluded(campaign=None, phone=phone)
    state = DialState.objects.get(pk=interview.contact_id)
    assert state.status == DialState.Status.EXCLUDED and state.excluded_reason == "do_not_call"
    interview.refresh_from_db()
    assert interview.closed_at is not None
    assert interview.response.status == ResponseStatus.ABANDONED


@pytest.mark.parametrize(
    ("disposition", "outcome", "minutes_setting"),
    [
        ("no_answer", Outcome.NO_ANSWER, "retry_no_answer_minutes"),
        ("busy", Outcome.BUSY, "retry_busy_minutes"),
    ],
)
def test_unreached_follows_the_retry_policy(org, carrier, disposition, outcome, minutes_setting):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(interview, org.agent)
    before = timezone.now()
    services.interview_finish(interview=interview, agent=org.agent, disposition=disposition)
    attempt.refresh_from_db()
    assert attempt.finished_at is not None and attempt.outcome == outcome
    state = DialState.objects.get(pk=interview.contact_id)
    wait = datetime.timedelta(minutes=getattr(order.dialing, minutes_setting))
    assert state.status == DialState.Status.PENDING
    assert before + wait <= state.next_attempt_at <= timezone.now() + wait
    interview.refresh_from_db()
    assert interview.closed_at is None and interview.disposition == disposition


def test_wrong_number_and_refused(client, org, carrier):
    order = agent_campaign(org, phones=phones(2))
    first = services.contact_reserve(campaign=order, agent=org.agent)
    _dial(first, org.agent)
    services.interview_finish(interview=first, agent=org.agent, disposition="wrong_number")
    assert DialState.objects.get(pk=first.contact_id).status == DialState.Status.INVALID
    second = services.contact_reserve(campaign=order, agent=org.agent)
    _connect(client, _dial(second, org.agent))
    _answer(second, org.agent, "Q1", choice(1))
    services.interview_finish(interview=second, agent=org.agent, disposition="refused")
    second.refresh_from_db()
    assert DialState.objects.get(pk=second.contact_id).status == DialState.Status.REACHED
    assert second.response.status == ResponseStatus.PARTIAL and second.closed_at is not None


def test_callback_form_needs_a_future_time(client, org, carrier):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    _dial(interview, org.agent)
    client.force_login(org.agent)
    finish = reverse("agent:finish", args=[interview.pk])
    response = client.post(finish, {"disposition": "callback"})
    assert "Give the time to call back." in response.content.decode()
    past = (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(finish, {"disposition": "callback", "callback_at": past})
    assert "must be in the future" in response.content.decode()
    soon = (timezone.localtime() + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(finish, {"disposition": "callback", "callback_at": soon})
    assert response.status_code == 302
    assert DialState.objects.get(pk=interview.contact_id).callback_at is not None


def test_an_abandoned_hold_lapses(org):
    colleague = second_agent(org)
    order = agent_campaign(org, phones=phones(1), team=[colleague])
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    assert services.contact_reserve(campaign=order, agent=colleague) is None
    later = timezone.now() + datetime.timedelta(minutes=services.hold_minutes() + 1)
    taken = services.contact_reserve(campaign=order, agent=colleague, now=later)
    assert taken.pk == interview.pk and taken.agent == colleague
    with pytest.raises(Exception, match="not yours"):
        services.interview_back(interview=Interview.objects.get(pk=interview.pk), agent=org.agent)


def test_release_gives_the_contact_back(client, org):
    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    assert client.post(reverse("agent:release", args=[interview.pk])).status_code == 302
    assert DialState.objects.get(pk=interview.contact_id).status == DialState.Status.PENDING
    assert services.contact_reserve(campaign=order, agent=org.agent).pk == interview.pk


def test_supervisor_sees_agents_calls_completes_and_contacts_left(client, org, carrier):
    order = agent_campaign(org, phones=phones(3))
    done = services.contact_reserve(campaign=order, agent=org.agent)
    _dial(done, org.agent)
    services.interview_finish(interview=done, agent=org.agent, disposition="wrong_number")
    working = services.contact_reserve(campaign=order, agent=org.agent)
    attempt = _dial(working, org.agent)
    customer_status(client, attempt, "in-progress")
    client.force_login(org.agent)
    assert client.get(reverse("agent:supervisor")).status_code == 404
    client.force_login(org.outbound_admin)
    body = client.get(reverse("agent:supervisor")).content.decode()
    assert 'data-agent="agent"' in body and 'data-state="talking"' in body
    overview = selectors.supervisor_overview()
    row = next(c for c in overview["campaigns"] if c.pk == order.pk)
    assert row.contacts_total == 3 and row.contacts_left == 2


def _earlier_calls(order, contact, count: int) -> None:
    """`count` earlier unanswered attempts, each with its events, and as many closed
    interviews with their notes."""
    from outbound.models import CallEvent
    from surveys.services import response_start

    now = timezone.now()
    made = CallAttempt.objects.filter(contact=contact).count()
    for n in range(made + 1, made + count + 1):
        attempt = CallAttempt.objects.create(
            campaign=order,
            contact=contact,
            number=n,
            to=contact.phone,
            caller_id="+8673110086",
            status="no-answer",
            status_rank=5,
            outcome=Outcome.NO_ANSWER,
            finished_at=now,
        )
        for status in ("initiated", "ringing", "no-answer"):
            CallEvent.objects.create(attempt=attempt, status=status, occurred_at=now)
        Interview.objects.create(
            campaign=order,
            contact=contact,
            response=response_start(version=order.questionnaire, reference=f"old-{n}"),
            agent=order.team.first(),
            disposition="no_answer",
            notes=f"Attempt {n}: no answer",
            closed_at=now,
        )


def test_interview_page_queries_do_not_grow_with_history(client, org, carrier):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    client.force_login(org.agent)
    page = reverse("agent:interview", args=[interview.pk])
    counts = []
    for more in (1, 6):
        _earlier_calls(order, interview.contact, more)
        with CaptureQueriesContext(connection) as queries:
            body = client.get(page).content.decode()
        assert body.count("Attempt ") == CallAttempt.objects.count()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_an_agent_without_a_phone_is_told(org):
    loner = UserFactory(username="loner", department=org.centre, roles=["call_agent"])
    order = agent_campaign(org, phones=phones(1), team=[loner])
    interview = services.contact_reserve(campaign=order, agent=loner)
    with pytest.raises(Exception, match="phone number is not set"):
        services.interview_dial(interview=interview, agent=loner)


def test_periodic_tasks_let_holds_lapse_and_settle_voice_interviews(org, monkeypatch):
    from outbound.agent import tasks as agent_tasks
    from outbound.voice import tasks as voice_tasks

    order = agent_campaign(org, phones=phones(1))
    interview = services.contact_reserve(campaign=order, agent=org.agent)
    Interview.objects.filter(pk=interview.pk).update(
        reserved_until=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert agent_tasks.expire_holds.delay().get() == 1
    assert DialState.objects.get(pk=interview.contact_id).status == DialState.Status.PENDING
    assert voice_tasks.settle_interviews.delay().get() == 0
