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

from outbound.agent.services import (
    bridge_dialled_url,
    caller_id_for,
    customer_leg_dial_ended,
    customer_status_url,
)
from outbound.contacts.selectors import Exclusion
from outbound.contacts.services import dnc_add
from outbound.dialer import policy
from outbound.dialer.services import attempt_finish, settings_for
from outbound.models import (
    CallAttempt,
    CallEvent,
    DialState,
    DoNotCallEntry,
    Interview,
    Outcome,
    SpokenAnswer,
)
from outbound.recordings.services import dial_recording_options
from outbound.signals import interview_closed_send
from outbound.voice import twiml
from outbound.voice.speaker import Speaker, speaker_for
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


def gather_url(interview_id: int, question_id: int, tries: int = 1) -> str:
    return public(reverse("voice:gather", args=[interview_id, question_id])) + f"?try={tries}"


def recording_status_url(interview_id: int, question_id: int) -> str:
    return public(reverse("voice:recording_status", args=[interview_id, question_id]))


def opt_out_url(interview_id: int) -> str:
    return public(reverse("voice:opt_out", args=[interview_id]))


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


def _goodbye(language: str, speaker: Speaker, message: str | None = None) -> str:
    response = VoiceResponse()
    with twiml.in_language(language):
        text = message or _(
            "We are sorry, this survey cannot be taken by phone at the moment. Goodbye."
        )
    speaker.say(response, text)
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
    speaker = speaker_for(language, campaign)
    answered_by = request.POST.get("AnsweredBy", "") if request.method == "POST" else ""
    if answered_by in MACHINE:
        return _machine_twiml(attempt, answered_by, language)
    if not voice_askable(version):
        logger.warning("voice: campaign %s has no keypad questionnaire", campaign.pk)
        return _goodbye(language, speaker)
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
    twiml.introduction(
        response,
        texts=texts,
        language=language,
        speaker=speaker,
        action=opt_out_url(interview.pk),
    )
    _go_on(response, interview, script, values, language, speaker)
    return _document(response)


# With DetectMessageEnd a machine is reported once its greeting has ended: the time to speak.
AFTER_THE_BEEP = frozenset({"machine_end_beep", "machine_end_silence", "machine_end_other"})


def _machine_twiml(attempt: CallAttempt, answered_by: str, language: str) -> str:
    """An answering machine gets no survey: the campaign's message after the beep, if it
    has one, then the hang-up. The attempt ends as a machine, for the retry policy."""
    attempt_finish(
        attempt_id=attempt.pk,
        status="completed",
        outcome=Outcome.MACHINE,
        answered_by=answered_by,
        source=CallEvent.Source.DIALER,
    )
    message = settings_for(campaign=attempt.campaign).machine_message.strip()
    response = VoiceResponse()
    if message and answered_by in AFTER_THE_BEEP:
        speaker_for(language, attempt.campaign).say(
            response, placeholders_fill(message, _values(attempt))
        )
    response.hangup()
    return _document(response)


def voice_opt_out_twiml(*, interview_id: int, digits: str) -> str:
    """A key pressed during the introduction. The opt-out key puts the number on the
    do-not-call list, closes the interview and the contact, and says goodbye; any other key
    goes on to the questions."""
    interview = (
        Interview.objects.select_related(
            "attempt", "contact", "response__version__questionnaire", "campaign__dialing"
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
    speaker = speaker_for(language, interview.campaign)
    key = twiml.opt_out_key()
    if not key or (digits or "").strip() != key:
        values = _values(interview.attempt) if interview.attempt else {}
        _go_on(response, interview, _script(version), values, language, speaker)
        return _document(response)
    with twiml.in_language(language):
        reason = _("Asked not to be called again (voice survey keypad)")
        goodbye = _("You will not be called again. Thank you, goodbye.")
    dnc_add(
        phone=interview.contact.phone,
        reason=reason,
        source=DoNotCallEntry.Source.CALL,
        held=True,
    )
    DialState.objects.filter(pk=interview.contact_id).update(
        status=DialState.Status.EXCLUDED,
        excluded_reason=Exclusion.DO_NOT_CALL,
        next_attempt_at=None,
        callback_at=None,
    )
    surveys.response_finish(response=record)
    if Interview.objects.filter(pk=interview.pk, closed_at=None).update(
        disposition=Disposition.DO_NOT_CALL, closed_at=timezone.now()
    ):
        interview_closed_send(interview.pk)
    speaker.say(response, goodbye)
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
    speaker: Speaker,
    lead_in: str = "",
) -> None:
    """Reads statements, asks the next question, or reads the closing and hangs up."""
    record = interview.response
    for _step in range(MAX_STEPS):
        step = next_step(script, surveys.response_answers(response=record))
        if isinstance(step, End):
            _closing(
                response, interview, script, values, speaker, screened_out=step == End.SCREEN_OUT
            )
            return
        if step.type == QuestionType.STATEMENT:
            if step.text:
                speaker.say(response, placeholders_fill(step.text, values))
            _answer(interview, step.code, AnswerValue.missing())
            continue
        _ask(response, interview, step, values, language, speaker, lead_in=lead_in)
        return
    raise RuntimeError("the script did not end")


def _ask(response, interview, spec, values, language, speaker, *, tries=1, lead_in="") -> None:
    """A question's <Gather> for the keypad, or an open question asked to be answered
    aloud."""
    text = placeholders_fill(spec.text, values)
    action = gather_url(interview.pk, spec.id, tries)
    if spec.type == QuestionType.TEXT:
        twiml.open_question(
            response,
            spec=spec,
            text=text,
            language=language,
            speaker=speaker,
            action=action,
            recording_status=recording_status_url(interview.pk, spec.id),
            lead_in=lead_in,
        )
        return
    twiml.gather(
        response,
        spec=spec,
        text=text,
        labels=_labels(spec, values),
        language=language,
        speaker=speaker,
        action=action,
        lead_in=lead_in,
    )


def _answer(interview: Interview, code: str, value: AnswerValue):
    question = Question.objects.get(version_id=interview.response.version_id, code=code)
    return surveys.response_answer(response=interview.response, question=question, value=value)


def _closing(response, interview, script, values, speaker, *, screened_out: bool) -> None:
    parts = script.parts
    texts = (
        (parts.closing_thanks, parts.closing_wishes)
        if screened_out
        else (parts.closing_summary, parts.closing_thanks, parts.closing_wishes)
    )
    for text in texts:
        if text:
            speaker.say(response, placeholders_fill(text, values))
    response.hangup()
    disposition = Disposition.NOT_ELIGIBLE if screened_out else Disposition.COMPLETED
    if Interview.objects.filter(pk=interview.pk, closed_at=None).update(
        disposition=disposition, closed_at=timezone.now()
    ):
        interview_closed_send(interview.pk)


def voice_gather_twiml(*, interview_id: int, question_id: int, params, tries: int) -> str:
    """What follows an answer (the carrier's Digits, or for an open question its recording
    or recognised speech): the answer saved, then the next question or the end. A wrong or
    missing answer is asked again once, then recorded as no answer."""
    interview = (
        Interview.objects.select_related(
            "attempt", "contact", "response__version__questionnaire", "campaign__dialing"
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
    speaker = speaker_for(language, interview.campaign)
    script = _script(version)
    values = _values(interview.attempt) if interview.attempt else {}
    record = interview.response
    response = VoiceResponse()
    if interview.closed_at is not None or record.status != ResponseStatus.IN_PROGRESS:
        response.hangup()
        return _document(response)
    current = next_step(script, surveys.response_answers(response=record))
    if isinstance(current, End) or current.id != question_id:
        # A repeated or late request: carry on from where the interview really is.
        _go_on(response, interview, script, values, language, speaker)
        return _document(response)
    code = current.code
    digits = params.get("Digits", "")
    if current.type == QuestionType.TEXT:
        value = _spoken_answer(interview, current, params)
    else:
        value = twiml.answer_from_digits(current, digits)
    if value is not None:
        try:
            _answer(interview, code, value)
        except ValidationError:
            value = None
    if digits == "hangup":
        # The caller hung up while recording: Twilio reads no more TwiML.
        response.hangup()
        return _document(response)
    if value is None:
        if tries < twiml.TRIES:
            with twiml.in_language(language):
                if current.type == QuestionType.TEXT:
                    sorry = _("Sorry, we did not hear your answer.")
                else:
                    sorry = _("Sorry, that key is not one of the answers.")
            _ask(
                response,
                interview,
                current,
                values,
                language,
                speaker,
                tries=tries + 1,
                lead_in=sorry,
            )
            return _document(response)
        _answer(interview, code, AnswerValue.missing())
    _go_on(response, interview, script, values, language, speaker)
    return _document(response)


def _spoken_answer(interview: Interview, spec, params) -> AnswerValue | None:
    """The answer to an open question from what the carrier posts: the star key for "don't
    know", the recognised words (SpeechResult), or a recording, kept with the interview; the
    answer's text is the transcript, empty for a recording. None when nothing came."""
    digits = (params.get("Digits") or "").strip()
    if digits == twiml.DONT_KNOW_KEY and spec.allow_dont_know:
        return AnswerValue.dont_know()
    speech = (params.get("SpeechResult") or "").strip()
    recording_url = (params.get("RecordingUrl") or "").strip()
    if speech:
        try:
            confidence = float(params.get("Confidence") or "")
        except ValueError:
            confidence = None
        _spoken_keep(
            interview,
            spec.id,
            source=SpokenAnswer.Source.SPEECH,
            transcript=speech,
            confidence=confidence,
        )
        return AnswerValue.of_text(speech)
    if recording_url:
        _spoken_keep(
            interview,
            spec.id,
            source=SpokenAnswer.Source.RECORDING,
            **_recording_fields(params),
            finished_by=digits[:10],
        )
        return AnswerValue.missing()
    return None


def _recording_fields(params) -> dict:
    url = (params.get("RecordingUrl") or "").strip()
    # Twilio names the recording in its address when it does not post the SID.
    sid = (params.get("RecordingSid") or "").strip() or url.rstrip("/").rsplit("/", 1)[-1]
    fields = {"recording_url": url[:500], "recording_sid": sid[:64]}
    duration = params.get("RecordingDuration") or ""
    if duration.isdigit():
        fields["recording_duration"] = int(duration)
    return fields


def _spoken_keep(interview: Interview, question_id: int, **fields) -> SpokenAnswer:
    spoken, _created = SpokenAnswer.objects.update_or_create(
        interview=interview, question_id=question_id, defaults=fields
    )
    return spoken


def voice_recording_status(*, interview_id: int, question_id: int, params) -> bool:
    """The carrier's recording status callback for an open question's <Record>: the
    recording's final address, length and status. It may come before or after the
    <Record>'s action request."""
    interview = Interview.objects.filter(pk=interview_id, channel=Interview.Channel.VOICE).first()
    if (
        interview is None
        or not Question.objects.filter(
            pk=question_id, version_id=interview.response.version_id, type=QuestionType.TEXT
        ).exists()
    ):
        return False
    fields = _recording_fields(params)
    if not fields["recording_url"]:
        fields.pop("recording_url")
    status = (params.get("RecordingStatus") or "")[:20]
    with transaction.atomic():
        spoken = (
            SpokenAnswer.objects.select_for_update()
            .filter(interview=interview, question_id=question_id)
            .first()
        )
        if spoken is None:
            SpokenAnswer.objects.create(
                interview=interview,
                question_id=question_id,
                source=SpokenAnswer.Source.RECORDING,
                recording_status=status,
                **fields,
            )
        else:
            # A recording deleted at the end of retention stays deleted.
            SpokenAnswer.objects.filter(pk=spoken.pk).exclude(recording_status="deleted").update(
                recording_status=status, updated_at=timezone.now(), **fields
            )
    return True


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
        closed = Interview.objects.filter(pk=interview.pk, closed_at=None).update(
            disposition=disposition, closed_at=timezone.now()
        )
        if closed:
            interview_closed_send(interview.pk)
        return bool(closed)


def voice_interviews_settle(*, limit: int = 500) -> int:
    """Closes the voice interviews whose calls have ended without reaching the closing."""
    ids = list(
        Interview.objects.filter(
            channel=Interview.Channel.VOICE, closed_at=None, attempt__finished_at__isnull=False
        ).values_list("attempt_id", flat=True)[:limit]
    )
    return sum(interview_attempt_ended(attempt_id=pk) for pk in ids)


# --- the agent's bridge ---------------------------------------------------------------


def _agent_language(attempt: CallAttempt) -> str:
    interview = attempt.interviews.select_related("agent").first()
    return getattr(getattr(interview, "agent", None), "language", "") or "zh-hans"


def agent_bridge_twiml(*, attempt: CallAttempt, request=None) -> str:
    """The agent's own phone has answered: tell them, then dial the customer with the
    campaign's caller ID. The customer leg reports to the attempt's status webhook, and
    the <Dial>'s end to its action, which tells the agent how it went."""
    rules = settings_for(campaign=attempt.campaign)
    agent_language = _agent_language(attempt)
    response = VoiceResponse()
    with twiml.in_language(agent_language):
        connecting = _("Connecting you to %(name)s.") % {"name": attempt.contact.name or attempt.to}
    speaker_for(agent_language, attempt.campaign).say(response, connecting)
    options = {
        "action": bridge_dialled_url(attempt.pk),
        "method": "POST",
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
    # Nothing follows: with an action, the call goes on with the action's document.
    return _document(response)


def agent_dial_ended_twiml(*, attempt: CallAttempt | None, params) -> str:
    """The <Dial> to the customer has ended: the attempt gets the outcome its status
    callbacks did not already give it, and the agent hears how the call ended."""
    response = VoiceResponse()
    if attempt is None:
        response.hangup()
        return _document(response)
    customer_leg_dial_ended(attempt_id=attempt.pk, params=params)
    language = _agent_language(attempt)
    status = params.get("DialCallStatus", "")
    with twiml.in_language(language):
        messages = {
            "busy": _("The customer's line is busy."),
            "no-answer": _("The customer did not answer."),
            "failed": _("The customer's number could not be reached."),
            "canceled": _("The call to the customer was canceled."),
        }
        text = messages.get(status) or _("The call with the customer has ended.")
        text = f"{text} {_('Record how the call ended in the console.')}"
    speaker_for(language, attempt.campaign).say(response, text)
    response.hangup()
    return _document(response)
