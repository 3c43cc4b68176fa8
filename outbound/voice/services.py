"""The automated voice survey and the agent's bridge, as TwiML documents: the greeting and
transition read aloud, each question asked by keypad with the skip rules followed, every
answer saved as it is keyed, the closing read and the call hung up. An answering machine
gets no survey; a questionnaire a keypad cannot answer is never played."""

import functools
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from outbound import telephony
from outbound.agent.services import caller_id_for, customer_status_url
from outbound.contacts.selectors import Exclusion
from outbound.contacts.services import dnc_add
from outbound.dialer import policy
from outbound.dialer.services import attempt_finish, settings_for
from outbound.models import CallAttempt, CallEvent, DialState, DoNotCallEntry, Interview, Outcome
from outbound.recordings.services import dial_recording_options
from outbound.voice import twiml
from surveys import checker
from surveys import services as surveys
from surveys.engine import AnswerValue, End, Script, next_step, script_build
from surveys.models import Mode, Question, QuestionnaireVersion, QuestionType, ResponseStatus
from surveys.placeholders import placeholders_fill

logger = logging.getLogger(__name__)
Disposition = Interview.Disposition
MACHINE = frozenset({*policy.MACHINE_ANSWERS, "fax"})
# Enough steps for any script: each moves strictly forward.
MAX_STEPS = 500


def public(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def gather_url(interview_id: int, code: str, tries: int = 1) -> str:
    return public(reverse("voice:gather", args=[interview_id, code])) + f"?try={tries}"


def opt_out_url(interview_id: int) -> str:
    return public(reverse("voice:opt_out", args=[interview_id]))


def hold_url(attempt_id: int) -> str:
    return public(reverse("voice:hold", args=[attempt_id]))


def _document(response: VoiceResponse) -> str:
    return str(response)


def voice_askable(version: QuestionnaireVersion | None) -> bool:
    """Whether the version may be played to callers: published, written for the keypad,
    and free of the checker's errors."""
    if version is None or not version.is_published or version.mode != Mode.VOICE:
        return False
    return _checked(version.pk, version.published_at.isoformat())


# A published version never changes, so its check and its script are worked out once.
@functools.lru_cache(maxsize=64)
def _checked(version_id: int, published_at: str) -> bool:
    version = QuestionnaireVersion.objects.select_related("questionnaire").get(pk=version_id)
    return not checker.has_errors(checker.check_version(version))


@functools.lru_cache(maxsize=64)
def _published_script(version_id: int, published_at: str) -> Script:
    return script_build(QuestionnaireVersion.objects.get(pk=version_id))


def _script(version: QuestionnaireVersion) -> Script:
    if version.is_published and version.published_at is not None:
        return _published_script(version.pk, version.published_at.isoformat())
    return script_build(version)


def _values(attempt: CallAttempt) -> dict:
    contact = attempt.contact
    values = {
        "customer_name": contact.name,
        "caller_number": attempt.caller_id,
        "brand": contact.brand,
        "region": contact.region,
        "segment": contact.segment,
    }
    for name, value in (contact.attributes or {}).items():
        values.setdefault(str(name), value)
    return values


def _goodbye(language: str, message: str | None = None) -> str:
    response = VoiceResponse()
    with twiml.in_language(language):
        text = message or _(
            "We are sorry, this survey cannot be taken by phone at the moment. Goodbye."
        )
    response.say(text, language=twiml.say_language(language))
    response.hangup()
    return _document(response)


def _open_interview(attempt: CallAttempt, version: QuestionnaireVersion) -> Interview:
    """The contact's open interview, now on this call; a new one with its response if none."""
    with transaction.atomic():
        interview = (
            Interview.objects.select_for_update(of=("self",))
            .filter(contact_id=attempt.contact_id, closed_at=None)
            .first()
        )
        if interview is not None:
            Interview.objects.filter(pk=interview.pk).update(attempt=attempt)
            interview.attempt = attempt
            return interview
        response = surveys.response_start(
            version=version, reference=f"contact-{attempt.contact_id}"
        )
        try:
            with transaction.atomic():
                return Interview.objects.create(
                    campaign_id=attempt.campaign_id,
                    contact_id=attempt.contact_id,
                    response=response,
                    channel=Interview.Channel.VOICE,
                    attempt=attempt,
                )
        except IntegrityError:
            # The carrier asked twice at once: the first request's interview stands.
            interview = Interview.objects.get(contact_id=attempt.contact_id, closed_at=None)
            surveys.response_finish(response=response, status=ResponseStatus.ABANDONED)
            return interview


def voice_start_twiml(*, attempt: CallAttempt, request) -> str:
    """The first TwiML document of a voice-survey call, for the dialer's TwiML webhook."""
    campaign = attempt.campaign
    version = campaign.questionnaire
    language = version.questionnaire.language if version is not None else "zh-hans"
    answered_by = request.POST.get("AnsweredBy", "") if request.method == "POST" else ""
    if answered_by in MACHINE:
        attempt_finish(
            attempt_id=attempt.pk,
            status="completed",
            outcome=Outcome.MACHINE,
            answered_by=answered_by,
            source=CallEvent.Source.DIALER,
        )
        response = VoiceResponse()
        response.hangup()
        return _document(response)
    if not voice_askable(version):
        logger.warning("voice: campaign %s has no keypad questionnaire", campaign.pk)
        return _goodbye(language)
    interview = _open_interview(attempt, version)
    script = _script(version)
    values = _values(attempt)
    response = VoiceResponse()
    answers = surveys.response_answers(response=interview.response)
    if not answers:
        parts = script.parts
        texts = [
            placeholders_fill(text, values)
            for text in (
                parts.greeting_salutation,
                parts.greeting_introduction,
                parts.transition_purpose,
                parts.transition_cost,
            )
            if text
        ]
    else:
        with twiml.in_language(language):
            texts = [_("Welcome back. We go on where we stopped.")]
    twiml.introduction(response, texts=texts, language=language, action=opt_out_url(interview.pk))
    _go_on(response, interview, script, values, language)
    return _document(response)


def voice_opt_out_twiml(*, interview_id: int, digits: str) -> str:
    """A key pressed during the introduction. The opt-out key puts the number on the
    do-not-call list, closes the interview and the contact, and says goodbye; any other key
    goes on to the questions."""
    interview = (
        Interview.objects.select_related(
            "attempt", "contact", "response__version__questionnaire", "campaign"
        )
        .filter(pk=interview_id, channel=Interview.Channel.VOICE)
        .first()
    )
    response = VoiceResponse()
    if interview is None:
        response.hangup()
        return _document(response)
    record = interview.response
    if interview.closed_at is not None or record.status != ResponseStatus.IN_PROGRESS:
        response.hangup()
        return _document(response)
    version = record.version
    language = version.questionnaire.language
    key = twiml.opt_out_key()
    if not key or (digits or "").strip() != key:
        values = _values(interview.attempt) if interview.attempt else {}
        _go_on(response, interview, _script(version), values, language)
        return _document(response)
    with twiml.in_language(language):
        reason = _("Asked not to be called again (voice survey keypad)")
        goodbye = _("You will not be called again. Thank you, goodbye.")
    dnc_add(
        phone=interview.contact.phone,
        reason=reason,
        source=DoNotCallEntry.Source.CALL,
    )
    DialState.objects.filter(pk=interview.contact_id).update(
        status=DialState.Status.EXCLUDED,
        excluded_reason=Exclusion.DO_NOT_CALL,
        next_attempt_at=None,
        callback_at=None,
    )
    surveys.response_finish(response=record)
    Interview.objects.filter(pk=interview.pk, closed_at=None).update(
        disposition=Disposition.DO_NOT_CALL, closed_at=timezone.now()
    )
    response.say(goodbye, language=twiml.say_language(language))
    response.hangup()
    return _document(response)


def _labels(spec, values: dict) -> dict[int, str]:
    return {c.code: placeholders_fill(c.label, values) for c in spec.choices}


def _go_on(
    response: VoiceResponse,
    interview: Interview,
    script: Script,
    values: dict,
    language: str,
    lead_in: str = "",
) -> None:
    """Reads statements, asks the next question, or reads the closing and hangs up."""
    say = twiml.say_language(language)
    record = interview.response
    for _step in range(MAX_STEPS):
        step = next_step(script, surveys.response_answers(response=record))
        if isinstance(step, End):
            _closing(response, interview, script, values, say, screened_out=step == End.SCREEN_OUT)
            return
        if step.type == QuestionType.STATEMENT:
            if step.text:
                response.say(placeholders_fill(step.text, values), language=say)
            _answer(interview, step.code, AnswerValue.missing())
            continue
        twiml.gather(
            response,
            spec=step,
            text=placeholders_fill(step.text, values),
            labels=_labels(step, values),
            language=language,
            action=gather_url(interview.pk, step.code),
            lead_in=lead_in,
        )
        return
    raise RuntimeError("the script did not end")


def _answer(interview: Interview, code: str, value: AnswerValue):
    question = Question.objects.get(version_id=interview.response.version_id, code=code)
    return surveys.response_answer(response=interview.response, question=question, value=value)


def _closing(response, interview, script, values, say, *, screened_out: bool) -> None:
    parts = script.parts
    texts = (
        (parts.closing_thanks, parts.closing_wishes)
        if screened_out
        else (parts.closing_summary, parts.closing_thanks, parts.closing_wishes)
    )
    for text in texts:
        if text:
            response.say(placeholders_fill(text, values), language=say)
    response.hangup()
    disposition = Disposition.NOT_ELIGIBLE if screened_out else Disposition.COMPLETED
    Interview.objects.filter(pk=interview.pk, closed_at=None).update(
        disposition=disposition, closed_at=timezone.now()
    )


def voice_gather_twiml(*, interview_id: int, code: str, digits: str, tries: int) -> str:
    """What follows a keypad answer: the answer saved, then the next question or the end.
    A wrong or missing key is asked again once, then recorded as no answer."""
    interview = (
        Interview.objects.select_related(
            "attempt", "contact", "response__version__questionnaire", "campaign"
        )
        .filter(pk=interview_id, channel=Interview.Channel.VOICE)
        .first()
    )
    if interview is None:
        response = VoiceResponse()
        response.hangup()
        return _document(response)
    version = interview.response.version
    language = version.questionnaire.language
    script = _script(version)
    values = _values(interview.attempt) if interview.attempt else {}
    record = interview.response
    response = VoiceResponse()
    if interview.closed_at is not None or record.status != ResponseStatus.IN_PROGRESS:
        response.hangup()
        return _document(response)
    current = next_step(script, surveys.response_answers(response=record))
    if isinstance(current, End) or current.code != code:
        # A repeated or late request: carry on from where the interview really is.
        _go_on(response, interview, script, values, language)
        return _document(response)
    value = twiml.answer_from_digits(current, digits)
    if value is not None:
        try:
            _answer(interview, code, value)
        except ValidationError:
            value = None
    if value is None:
        if tries < twiml.TRIES:
            with twiml.in_language(language):
                sorry = _("Sorry, that key is not one of the answers.")
            twiml.gather(
                response,
                spec=current,
                text=placeholders_fill(current.text, values),
                labels=_labels(current, values),
                language=language,
                action=gather_url(interview.pk, code, tries + 1),
                lead_in=sorry,
            )
            return _document(response)
        _answer(interview, code, AnswerValue.missing())
    _go_on(response, interview, script, values, language)
    return _document(response)


def interview_attempt_ended(*, attempt_id: int) -> bool:
    """After a voice call's final status: an interview left halfway is kept as partial."""
    interview = (
        Interview.objects.filter(
            attempt_id=attempt_id,
            channel=Interview.Channel.VOICE,
            closed_at=None,
            attempt__finished_at__isnull=False,
        )
        .select_related("response")
        .first()
    )
    if interview is None:
        return False
    with transaction.atomic():
        record = interview.response
        record.refresh_from_db()
        disposition = Disposition.PARTIAL
        if record.status == ResponseStatus.IN_PROGRESS:
            surveys.response_finish(response=record)
        elif record.status == ResponseStatus.SCREENED_OUT:
            disposition = Disposition.NOT_ELIGIBLE
        elif record.status == ResponseStatus.COMPLETED:
            disposition = Disposition.COMPLETED
        return bool(
            Interview.objects.filter(pk=interview.pk, closed_at=None).update(
                disposition=disposition, closed_at=timezone.now()
            )
        )


def voice_interviews_settle(*, limit: int = 500) -> int:
    """Closes the voice interviews whose calls have ended without reaching the closing."""
    ids = list(
        Interview.objects.filter(
            channel=Interview.Channel.VOICE, closed_at=None, attempt__finished_at__isnull=False
        ).values_list("attempt_id", flat=True)[:limit]
    )
    return sum(interview_attempt_ended(attempt_id=pk) for pk in ids)


# --- the agent's bridge ---------------------------------------------------------------


def agent_bridge_twiml(*, attempt: CallAttempt, request=None) -> str:
    """The agent's own phone has answered: tell them, then dial the customer with the
    campaign's caller ID. The customer leg reports to the attempt's status webhook."""
    rules = settings_for(campaign=attempt.campaign)
    interview = attempt.interviews.select_related("agent").first()
    agent_language = getattr(getattr(interview, "agent", None), "language", "") or "zh-hans"
    response = VoiceResponse()
    with twiml.in_language(agent_language):
        response.say(
            _("Connecting you to %(name)s.") % {"name": attempt.contact.name or attempt.to},
            language=twiml.say_language(agent_language),
        )
    options = {
        "caller_id": attempt.caller_id or caller_id_for(rules),
        "timeout": settings.WAIHU_RING_TIMEOUT_SECONDS,
        "answer_on_bridge": True,
    }
    if rules.record:
        options["record"] = "record-from-answer"
        options.update(dial_recording_options(attempt.pk))
    dial = response.dial(**options)
    dial.number(
        attempt.to,
        status_callback=customer_status_url(attempt.pk),
        status_callback_event="initiated ringing answered completed",
        status_callback_method="POST",
    )
    response.hangup()
    if telephony.is_sandbox():
        _sandbox_customer_leg(attempt)
    return _document(response)


def _sandbox_customer_leg(attempt: CallAttempt) -> None:
    """The sandbox plays calls placed through its Calls endpoint but not a <Dial>'s child
    call, so there the customer leg is placed as a call of its own with the same status
    webhook; with Twilio the <Dial> above places it."""
    if not CallAttempt.objects.filter(
        pk=attempt.pk, status=CallAttempt.Status.CREATED, call_sid=None
    ).exists():
        return
    try:
        sid = telephony.place_call(
            to=attempt.to,
            from_=attempt.caller_id,
            twiml_url=hold_url(attempt.pk),
            status_callback=customer_status_url(attempt.pk),
        )
    except telephony.TelephonyError as error:
        invalid = isinstance(error, telephony.InvalidNumber)
        attempt_finish(
            attempt_id=attempt.pk,
            status="failed",
            outcome=Outcome.INVALID if invalid else Outcome.FAILED,
            error_code=str(error.code or ""),
            error_message=str(error)[:255],
        )
        return
    now = timezone.now()
    CallAttempt.objects.filter(pk=attempt.pk, call_sid=None).update(call_sid=sid)
    CallAttempt.objects.filter(pk=attempt.pk, placed_at=None).update(placed_at=now)
    CallAttempt.objects.filter(pk=attempt.pk, status_rank__lt=CallAttempt.RANK["queued"]).update(
        status=CallAttempt.Status.QUEUED, status_rank=CallAttempt.RANK["queued"]
    )


def hold_twiml() -> str:
    """What the customer leg runs in the sandbox: the line stays open."""
    response = VoiceResponse()
    response.pause(length=60)
    return _document(response)
