"""The agent console's writes: taking the next due contact (held for one agent, never two),
ringing the agent's own phone and then the customer, recording answers as they are given,
and ending with a disposition that decides what becomes of the contact."""

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from outbound import telephony
from outbound.agent import selectors
from outbound.contacts.selectors import Exclusion, excluded_numbers
from outbound.contacts.services import dnc_add
from outbound.dialer import policy, windows
from outbound.dialer.account import campaign_refuse
from outbound.dialer.services import attempt_finish, contacts_enrol, settings_for
from outbound.models import (
    CallAttempt,
    CallEvent,
    CampaignSettings,
    DialState,
    DoNotCallEntry,
    Interview,
    Outcome,
    WorkOrder,
)
from outbound.signals import interview_closed_send
from surveys import services as surveys
from surveys.engine import AnswerValue, Walk
from surveys.models import Question, ResponseStatus

logger = logging.getLogger(__name__)
Disposition = Interview.Disposition
CANDIDATES = 20

# What the agent may record, in the order the form offers them.
AGENT_DISPOSITIONS = (
    Disposition.COMPLETED,
    Disposition.PARTIAL,
    Disposition.REFUSED,
    Disposition.CALLBACK,
    Disposition.WRONG_NUMBER,
    Disposition.NOT_ELIGIBLE,
    Disposition.DO_NOT_CALL,
    Disposition.NO_ANSWER,
    Disposition.BUSY,
)
# The customer was not reached: the call's own outcome decides the retry.
UNREACHED = {
    Disposition.NO_ANSWER: ("no-answer", Outcome.NO_ANSWER),
    Disposition.BUSY: ("busy", Outcome.BUSY),
}


def hold_minutes() -> int:
    return int(getattr(settings, "WAIHU_AGENT_HOLD_MINUTES", 15))


def _hold_until(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(minutes=hold_minutes())


def caller_id_for(rules: CampaignSettings) -> str:
    return rules.caller_id or settings.WAIHU_CALLER_ID


def public(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def customer_status_url(attempt_id: int) -> str:
    """The dialer's status webhook: the customer leg's callbacks drive the attempt."""
    return public(reverse("telephony:status", args=[attempt_id]))


def bridge_url(attempt_id: int) -> str:
    return public(reverse("voice:bridge", args=[attempt_id]))


def agent_leg_status_url(attempt_id: int) -> str:
    return public(reverse("voice:bridge_status", args=[attempt_id]))


def bridge_dialled_url(attempt_id: int) -> str:
    """The action of the bridge's <Dial>: requested when the customer leg has ended."""
    return public(reverse("voice:bridge_dialled", args=[attempt_id]))


# --- taking a contact ------------------------------------------------------------------


def _check_campaign(campaign: WorkOrder, agent) -> CampaignSettings:
    if not selectors.agent_campaigns(user=agent).filter(pk=campaign.pk).exists():
        raise ValidationError(_("You are not working on this campaign, or it is not running."))
    if campaign.questionnaire_id is None:
        raise ValidationError(_("This campaign has no questionnaire yet."))
    return settings_for(campaign=campaign)


def _lock_candidates(queryset):
    """On PostgreSQL rows another agent is claiming are skipped, not waited for; SQLite
    writes one transaction at a time and the conditional update below decides."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def contact_reserve(
    *, campaign: WorkOrder, agent, now: datetime.datetime | None = None
) -> Interview | None:
    """Holds the best due contact for `agent` and opens (or resumes) its interview. Returns
    the agent's current hold if there is one, or None when nobody is due."""
    now = now or timezone.now()
    rules = _check_campaign(campaign, agent)
    held = (
        Interview.objects.filter(
            campaign=campaign, agent=agent, closed_at=None, reserved_until__gt=now
        )
        .order_by("-updated_at")
        .first()
    )
    if held is not None:
        return held
    reservations_expire(campaign_id=campaign.pk, now=now)
    contacts_enrol(campaign_id=campaign.pk)
    for _round in range(5):
        due = selectors.due_states(campaign=campaign, rules=rules, agent=agent, now=now)
        rows = list(due.values_list("pk", "contact__phone")[:CANDIDATES])
        if not rows:
            return None
        for pk in _callable(campaign, rules, rows, now):
            # Locks one row at a time, so agents asking together each get their own.
            with transaction.atomic():
                if _lock_candidates(due.filter(pk=pk)).values_list("pk", flat=True).first() is None:
                    continue
                won = DialState.objects.filter(pk=pk, status=DialState.Status.PENDING).update(
                    status=DialState.Status.DIALING, next_attempt_at=None
                )
                if won:
                    return _interview_open(campaign=campaign, contact_id=pk, agent=agent, now=now)
    return None


def _callable(campaign, rules, rows, now) -> list[int]:
    """The candidates inside their calling window and on no list, in order; the others
    are moved on the way the dialer moves them (to the window's opening, or out of the
    queue)."""
    excluded = excluded_numbers(
        campaign=campaign.pk, phones=[phone for _pk, phone in rows], on_date=timezone.localdate(now)
    )
    later: dict[datetime.datetime | None, list[int]] = defaultdict(list)
    by_reason: dict[str, list[int]] = defaultdict(list)
    callable_pks = []
    for pk, phone in rows:
        if phone in excluded:
            by_reason[excluded[phone]].append(pk)
            continue
        zone = windows.zone_for_number(phone)
        if not windows.is_open(rules, now, zone):
            later[windows.next_opening(rules, now, zone)].append(pk)
            continue
        callable_pks.append(pk)
    for reason, pks in by_reason.items():
        DialState.objects.filter(pk__in=pks, status=DialState.Status.PENDING).update(
            status=DialState.Status.EXCLUDED, excluded_reason=reason, next_attempt_at=None
        )
    for when, pks in later.items():
        pending = DialState.objects.filter(pk__in=pks, status=DialState.Status.PENDING)
        if when is None:
            pending.update(status=DialState.Status.FINISHED, next_attempt_at=None)
        else:
            pending.update(next_attempt_at=when)
    return callable_pks


def _interview_open(*, campaign, contact_id: int, agent, now) -> Interview:
    """The contact's open interview handed to `agent`, or a new one."""
    interview = (
        Interview.objects.select_for_update(of=("self",))
        .filter(contact_id=contact_id, closed_at=None)
        .first()
    )
    if interview is not None:
        Interview.objects.filter(pk=interview.pk).update(
            agent=agent,
            attempt=None,
            agent_call_sid="",
            agent_call_status="",
            reserved_until=_hold_until(now),
        )
        interview.refresh_from_db()
        return interview
    response = surveys.response_start(
        version=campaign.questionnaire, reference=f"contact-{contact_id}", created_by=agent
    )
    return Interview.objects.create(
        campaign=campaign,
        contact_id=contact_id,
        response=response,
        channel=Interview.Channel.AGENT,
        agent=agent,
        reserved_until=_hold_until(now),
    )


def reservations_expire(*, campaign_id: int | None = None, now=None) -> int:
    """Lets go of holds their agents abandoned: the contact waits in the queue again, and
    an interview whose script has ended is closed. A hold with a call still going stays."""
    now = now or timezone.now()
    lapsed = Interview.objects.filter(
        channel=Interview.Channel.AGENT, closed_at=None, reserved_until__lt=now
    )
    if campaign_id is not None:
        lapsed = lapsed.filter(campaign_id=campaign_id)
    count = 0
    for interview in lapsed.select_related("response", "campaign__dialing")[:200]:
        with transaction.atomic():
            if CallAttempt.objects.filter(
                contact_id=interview.contact_id, finished_at=None
            ).exists():
                Interview.objects.filter(pk=interview.pk).update(reserved_until=_hold_until(now))
                continue
            if not Interview.objects.filter(pk=interview.pk, reserved_until__lt=now).update(
                reserved_until=None
            ):
                continue
            state = DialState.objects.select_for_update(of=("self",)).get(pk=interview.contact_id)
            if interview.response.status != ResponseStatus.IN_PROGRESS:
                _close(interview, _ended_disposition(interview.response.status), now)
                DialState.objects.filter(pk=state.pk, status=DialState.Status.DIALING).update(
                    status=DialState.Status.REACHED
                )
            elif state.status == DialState.Status.DIALING:
                DialState.objects.filter(pk=state.pk).update(
                    status=DialState.Status.PENDING, next_attempt_at=now
                )
            elif state.status == DialState.Status.REACHED and interview.attempt_id is not None:
                # Reached, then left without a disposition: someone may resume it.
                if state.attempts < interview.campaign.dialing.max_attempts:
                    DialState.objects.filter(pk=state.pk).update(
                        status=DialState.Status.PENDING, next_attempt_at=now
                    )
                else:
                    _close(interview, Disposition.PARTIAL, now)
            count += 1
    return count


def _ended_disposition(status: str) -> str:
    if status == ResponseStatus.SCREENED_OUT:
        return Disposition.NOT_ELIGIBLE
    return Disposition.COMPLETED


def _close(interview: Interview, disposition: str, now, **fields) -> None:
    response = interview.response
    response.refresh_from_db()
    if response.status == ResponseStatus.IN_PROGRESS:
        surveys.response_finish(response=response)
    if Interview.objects.filter(pk=interview.pk, closed_at=None).update(
        disposition=disposition, closed_at=now, reserved_until=None, **fields
    ):
        interview_closed_send(interview.pk)


def _check_holder(interview: Interview, agent) -> None:
    if interview.agent_id != agent.pk or interview.closed_at is not None:
        raise ValidationError(_("This interview is not yours to work on any more."))
    if interview.reserved_until is None:
        raise ValidationError(
            _("Your hold on this contact lapsed. Take the next contact to go on.")
        )


def _touch(interview: Interview, now=None) -> None:
    until = _hold_until(now or timezone.now())
    Interview.objects.filter(pk=interview.pk, closed_at=None).update(reserved_until=until)
    interview.reserved_until = until


def interview_release(*, interview: Interview, agent) -> None:
    """Gives the contact back without a call (or after one that has ended)."""
    _check_holder(interview, agent)
    now = timezone.now()
    with transaction.atomic():
        if CallAttempt.objects.filter(contact_id=interview.contact_id, finished_at=None).exists():
            raise ValidationError(_("The call is still going: end it with a disposition."))
        DialState.objects.filter(pk=interview.contact_id, status=DialState.Status.DIALING).update(
            status=DialState.Status.PENDING, next_attempt_at=now
        )
        Interview.objects.filter(pk=interview.pk).update(reserved_until=None)


# --- the call --------------------------------------------------------------------------


def interview_dial(*, interview: Interview, agent, now=None) -> CallAttempt:
    """Rings the agent's own phone; when the agent answers, the bridge dials the customer.
    The customer's leg is a call attempt like the dialer's, so its status callbacks,
    outcome and retry policy apply."""
    now = now or timezone.now()
    _check_holder(interview, agent)
    if not agent.phone:
        raise ValidationError(
            _("Your own phone number is not set. Ask the administrator to add it.")
        )
    rules = settings_for(campaign=interview.campaign)
    if rules.state != CampaignSettings.State.RUNNING:
        raise ValidationError(_("The campaign is not running."))
    caller_id = caller_id_for(rules)
    with transaction.atomic():
        state = DialState.objects.select_for_update(of=("self",)).get(pk=interview.contact_id)
        if state.status != DialState.Status.DIALING:
            raise ValidationError(
                _("This contact has been called already. Record a disposition or take the next.")
            )
        if CallAttempt.objects.filter(contact_id=interview.contact_id, finished_at=None).exists():
            raise ValidationError(_("A call to this contact is already going."))
        made = (
            CallAttempt.objects.filter(contact_id=interview.contact_id).aggregate(n=Max("number"))[
                "n"
            ]
            or 0
        )
        attempt = CallAttempt.objects.create(
            campaign_id=interview.campaign_id,
            contact_id=interview.contact_id,
            number=made + 1,
            to=interview.contact.phone,
            caller_id=caller_id,
            settle_at=now + datetime.timedelta(seconds=settings.WAIHU_SETTLE_AFTER_SECONDS),
        )
        DialState.objects.filter(pk=state.pk).update(attempts=F("attempts") + 1, callback_at=None)
        Interview.objects.filter(pk=interview.pk).update(
            attempt=attempt,
            agent_call_sid="",
            agent_call_status="queued",
            callback_at=None,
            callback_agent=None,
            reserved_until=_hold_until(now),
        )
    # No transaction is held while the carrier is asked: its callbacks may come at once.
    try:
        sid = telephony.place_call(
            to=agent.phone,
            from_=caller_id,
            twiml_url=bridge_url(attempt.pk),
            status_callback=agent_leg_status_url(attempt.pk),
            record=False,
        )
    except telephony.TelephonyError as error:
        attempt_drop(attempt_id=attempt.pk)
        Interview.objects.filter(pk=interview.pk).update(agent_call_status="failed")
        if isinstance(error, telephony.AccountRefusal):
            campaign_refuse(campaign_id=interview.campaign_id, error=error)
        raise ValidationError(
            _("Your phone could not be called: %(error)s") % {"error": error}
        ) from error
    Interview.objects.filter(pk=interview.pk, agent_call_sid="").update(agent_call_sid=sid)
    interview.refresh_from_db()
    return attempt


def attempt_drop(*, attempt_id: int) -> bool:
    """The customer was never dialled (the agent's own leg failed): the attempt did not
    happen, and the contact stays held for the agent."""
    with transaction.atomic():
        attempt = (
            CallAttempt.objects.select_for_update()
            .filter(pk=attempt_id, status=CallAttempt.Status.CREATED, call_sid=None)
            .first()
        )
        if attempt is None:
            return False
        CallEvent.objects.filter(attempt=attempt).delete()
        Interview.objects.filter(attempt=attempt).update(attempt=None)
        attempt.delete()
        DialState.objects.filter(pk=attempt.contact_id, attempts__gt=0).update(
            attempts=F("attempts") - 1
        )
    return True


AGENT_LEG_RANK = CallAttempt.RANK


def agent_leg_record(*, attempt_id: int, params) -> bool:
    """A status of the agent's own leg. When it ends before the customer was dialled, the
    customer's attempt is dropped. Returns whether the attempt is known."""
    status = params.get("CallStatus", "")
    interview = Interview.objects.filter(attempt_id=attempt_id).first()
    if interview is None:
        return CallAttempt.objects.filter(pk=attempt_id).exists()
    rank = AGENT_LEG_RANK.get(status)
    if rank is not None:
        lower = [name for name, value in AGENT_LEG_RANK.items() if value < rank]
        Interview.objects.filter(pk=interview.pk, agent_call_status__in=[*lower, ""]).update(
            agent_call_status=status
        )
    sid = params.get("CallSid", "")
    if sid:
        Interview.objects.filter(pk=interview.pk, agent_call_sid="").update(agent_call_sid=sid)
    if status in CallAttempt.FINAL_STATUSES:
        attempt_drop(attempt_id=attempt_id)
    return True


# The <Dial>'s outcome as the call status it stands for ("answered" is a conference's).
DIAL_STATUSES = {"answered": "completed", **{s: s for s in CallAttempt.FINAL_STATUSES}}


def customer_leg_dial_ended(*, attempt_id: int, params) -> bool:
    """The bridge's <Dial> to the customer has ended (the carrier requests its action). The
    customer leg's status callbacks have normally finished the attempt already; a number
    that fails before it rings has no child call, so no callbacks, and the <Dial>'s own
    result finishes the attempt. Returns whether the attempt is known."""
    status = DIAL_STATUSES.get(params.get("DialCallStatus", ""))
    sid = params.get("DialCallSid", "")
    if sid:
        CallAttempt.objects.filter(pk=attempt_id, call_sid=None).update(call_sid=sid)
    attempt = CallAttempt.objects.filter(pk=attempt_id).values("finished_at").first()
    if attempt is None:
        return False
    if status is None or attempt["finished_at"] is not None:
        return True
    error_code = params.get("ErrorCode", "") or ""
    error_message = ""
    if status == "failed" and not sid and not error_code:
        # No child call was ever made: the carrier could not route to the number.
        outcome = Outcome.INVALID
        error_message = "The number could not be dialled (DialCallStatus failed)."
    else:
        outcome = policy.outcome_for(status=status, error_code=error_code)
    duration = params.get("DialCallDuration")
    attempt_finish(
        attempt_id=attempt_id,
        status=status,
        outcome=outcome,
        duration=int(duration) if status == "completed" and str(duration).isdigit() else None,
        error_code=error_code,
        error_message=error_message,
        recording_url=params.get("RecordingUrl", "") or "",
        source=CallEvent.Source.CALLBACK,
    )
    return True


# --- the script ------------------------------------------------------------------------


def placeholder_values(interview: Interview, agent) -> dict:
    """What the script's placeholders stand for in this interview."""
    contact = interview.contact
    rules = settings_for(campaign=interview.campaign)
    values = {
        "customer_name": contact.name,
        "agent_name": agent.display_name or agent.get_full_name() or agent.username,
        "agent_no": agent.agent_no,
        "caller_number": caller_id_for(rules),
        "brand": contact.brand,
        "region": contact.region,
        "segment": contact.segment,
    }
    for name, value in (contact.attributes or {}).items():
        values.setdefault(str(name), value)
    return values


def interview_answer(
    *, interview: Interview, agent, question_code: str, value: AnswerValue
) -> Walk:
    """Saves the answer to a question on the interview's path and moves on; answers the
    new path no longer asks are dropped."""
    _check_holder(interview, agent)
    question = Question.objects.filter(
        version_id=interview.response.version_id, code=question_code
    ).first()
    if question is None:
        raise ValidationError(_("That question is not in this questionnaire."))
    walk = surveys.response_answer(response=interview.response, question=question, value=value)
    _touch(interview)
    return walk


def interview_back(*, interview: Interview, agent) -> None:
    _check_holder(interview, agent)
    surveys.response_back(response=interview.response)
    _touch(interview)


# --- the disposition -------------------------------------------------------------------


def interview_finish(
    *,
    interview: Interview,
    agent,
    disposition: str,
    notes: str = "",
    callback_at: datetime.datetime | None = None,
    callback_mine: bool = False,
    now: datetime.datetime | None = None,
) -> Interview:
    """Ends the agent's work on the contact. The disposition decides the contact's next
    step: reached, invalid, on the do-not-call list, called back at a time (by this agent
    or anyone), or called again as the retry policy says. A partial interview, a callback
    and a retry keep the interview open, to be resumed where it stopped."""
    now = now or timezone.now()
    _check_holder(interview, agent)
    if disposition not in AGENT_DISPOSITIONS:
        raise ValidationError(_("Choose how the call ended."))
    attempt = interview.attempt
    if attempt is None:
        raise ValidationError(_("Dial the customer first, or give the contact back."))
    response = interview.response
    response.refresh_from_db()
    if disposition == Disposition.COMPLETED and response.status == ResponseStatus.IN_PROGRESS:
        raise ValidationError(
            _("The interview has not reached its end: record it as partial or call back.")
        )
    if disposition == Disposition.CALLBACK and (callback_at is None or callback_at <= now):
        raise ValidationError(_("Give a time in the future to call back."))
    rules = settings_for(campaign=interview.campaign)

    # The carrier may not have reported the end yet: the agent's word closes the attempt.
    attempt.refresh_from_db()
    if attempt.finished_at is None:
        status, outcome = UNREACHED.get(disposition, ("completed", Outcome.ANSWERED))
        if disposition == Disposition.WRONG_NUMBER and attempt.status_rank < 4:
            status, outcome = "failed", Outcome.INVALID
        attempt_finish(
            attempt_id=attempt.pk, status=status, outcome=outcome, source=CallEvent.Source.DIALER
        )

    note = _note_line(agent, disposition, notes, now)
    with transaction.atomic():
        state = DialState.objects.select_for_update(of=("self",)).get(pk=interview.contact_id)
        keep_open = False
        extra = {}
        change = {"next_attempt_at": None, "callback_at": None}
        if disposition in (Disposition.COMPLETED, Disposition.REFUSED, Disposition.NOT_ELIGIBLE):
            change["status"] = DialState.Status.REACHED
        elif disposition == Disposition.WRONG_NUMBER:
            change["status"] = DialState.Status.INVALID
        elif disposition == Disposition.DO_NOT_CALL:
            dnc_add(
                phone=interview.contact.phone,
                reason=notes or _("Asked not to be called again"),
                source=DoNotCallEntry.Source.CALL,
                held=True,
                added_by=agent,
            )
            change.update(status=DialState.Status.EXCLUDED, excluded_reason=Exclusion.DO_NOT_CALL)
        elif disposition == Disposition.CALLBACK:
            change.update(
                status=DialState.Status.PENDING,
                next_attempt_at=callback_at,
                callback_at=callback_at,
            )
            extra = {"callback_at": callback_at, "callback_agent": agent if callback_mine else None}
            keep_open = True
        elif disposition == Disposition.PARTIAL:
            if state.attempts < rules.max_attempts:
                change.update(status=DialState.Status.PENDING, next_attempt_at=now)
                keep_open = True
            else:
                change["status"] = DialState.Status.FINISHED
        else:
            step = policy.next_step(
                rules=rules,
                outcome=UNREACHED[disposition][1],
                attempts_made=state.attempts,
                callback_at=None,
                now=now,
            )
            change.update(status=step.status, next_attempt_at=step.next_attempt_at)
            keep_open = step.status == DialState.Status.PENDING
        DialState.objects.filter(pk=state.pk).update(**change)
        current = Interview.objects.select_for_update().values_list("notes", flat=True)
        earlier = current.get(pk=interview.pk)
        Interview.objects.filter(pk=interview.pk).update(
            notes=f"{earlier}\n{note}" if earlier else note
        )
        if keep_open:
            Interview.objects.filter(pk=interview.pk).update(
                disposition=disposition, reserved_until=None, **extra
            )
        else:
            _close(interview, disposition, now)
    interview.refresh_from_db()
    return interview


def _note_line(agent, disposition: str, notes: str, now) -> str:
    stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
    label = str(Disposition(disposition).label)
    line = f"{stamp} {agent}: {label}"
    notes = notes.strip()
    return f"{line}. {notes}" if notes else line
