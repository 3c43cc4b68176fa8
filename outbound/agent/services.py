"""The agent console's writes: taking the next due contact (held for one agent, never two),
ringing the agent's own phone and then the customer, hanging up, recording answers as they
are given (with the time the agent took to read them), and ending with a disposition that
decides what becomes of the contact; an agent's pauses. Each step is a transition of
outbound/agent/states.py, checked there and kept by outbound/agent/sessions.py."""

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Exists, F, IntegerField, Max, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from outbound import telephony
from outbound.agent import pace, selectors, sessions, states
from outbound.agent.states import Event
from outbound.contacts.selectors import Exclusion, excluded_numbers
from outbound.contacts.services import dnc_add
from outbound.dialer import policy, windows
from outbound.dialer.account import campaign_refuse
from outbound.dialer.services import attempt_finish, contacts_enrol, settings_for
from outbound.models import (
    AgentState,
    CallAttempt,
    CallEvent,
    CampaignSettings,
    DialState,
    DoNotCallEntry,
    Interview,
    Outcome,
    PauseReason,
    ScriptReading,
    WorkOrder,
)
from outbound.signals import interview_closed_send
from surveys import services as surveys
from surveys.engine import AnswerValue, Walk
from surveys.models import Answer, Question, ResponseStatus

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


CLAIM_ROUNDS = 5


def contact_reserve(
    *,
    campaign: WorkOrder,
    agent,
    now: datetime.datetime | None = None,
    event: str = Event.TAKE,
) -> Interview | None:
    """Holds the best due contact for `agent` and opens (or resumes) its interview. Returns
    the agent's current hold if there is one, or None when nobody is due. A paused agent
    is given nobody. A fixed number of queries however many contacts and campaigns: only
    this campaign's queue is read, and only its first due rows."""
    now = now or timezone.now()
    rules = _check_campaign(campaign, agent)
    session = sessions.session_get(agent=agent)
    if session.state == AgentState.PAUSED:
        raise ValidationError(states.message_for(AgentState.PAUSED, event))
    held = (
        Interview.objects.filter(
            campaign=campaign, agent=agent, closed_at=None, reserved_until__gt=now
        )
        .order_by("-updated_at")
        .first()
    )
    if held is not None:
        return held
    lapsed = reservations_expire(campaign_id=campaign.pk, now=now)
    if session.campaign_id not in (None, campaign.pk):
        lapsed += reservations_expire(campaign_id=session.campaign_id, now=now)
    if lapsed:
        session.refresh_from_db()
    if session.state == AgentState.OFFLINE or session.campaign_id != campaign.pk:
        sessions.session_move(agent=agent, event=Event.SIGN_IN, campaign=campaign, now=now)
    elif not states.allowed(session.state, event):
        raise ValidationError(states.message_for(session.state, event))
    interview = _claim(campaign=campaign, rules=rules, agent=agent, now=now, event=event)
    # Contacts added since the campaign started join the queue when it has run dry (they
    # would come after every contact already due anyway); the periodic task enrols too.
    if interview is None and contacts_enrol(campaign_id=campaign.pk):
        # They are due from the moment they were queued, a little after `now`.
        now = max(now, timezone.now())
        interview = _claim(campaign=campaign, rules=rules, agent=agent, now=now, event=event)
    return interview


def _claim(*, campaign, rules, agent, now, event) -> Interview | None:
    """Takes the first callable contact of the campaign's queue for `agent`. On PostgreSQL
    the first due row is locked as it is read, skipping rows other agents are taking, so
    agents asking together each get their own without waiting for each other (one row, so
    that a short queue is shared among them all); on SQLite the transaction holds the
    database's write lock. A contact outside its calling window or on a list is moved on
    and the queue read again, then by batches: a few rounds at most."""
    for round_ in range(CLAIM_ROUNDS):
        with transaction.atomic():
            limit = 1 if round_ == 0 else CANDIDATES
            rows = _candidates(campaign=campaign, rules=rules, agent=agent, now=now, limit=limit)
            if not rows:
                return None
            for pk in _callable(campaign, rules, rows, now):
                won = DialState.objects.filter(pk=pk, status=DialState.Status.PENDING).update(
                    status=DialState.Status.DIALING, next_attempt_at=None
                )
                if won:
                    interview = _interview_open(
                        campaign=campaign, contact_id=pk, agent=agent, now=now
                    )
                    # Refused (the agent paused meanwhile): the claim is undone with it.
                    sessions.session_move(
                        agent=agent, event=event, campaign=campaign, interview=interview, now=now
                    )
                    return interview
    return None


def _candidates(*, campaign, rules, agent, now, limit: int) -> list[tuple[int, str]]:
    """(contact, phone) of the first `limit` due contacts `agent` may take, best first,
    locked where the database can: callbacks first (those promised to this agent before
    the others'), then the rest by the time they became due. Two queries, each reading
    only the rows it returns: the callbacks are found from the campaign's open interviews,
    the rest in the order of the queue's index."""
    due = selectors.due_states(campaign=campaign, rules=rules, agent=agent, now=now, ranked=False)
    promised = Interview.objects.filter(
        campaign=campaign, closed_at=None, callback_at__isnull=False
    ).filter(Q(callback_agent__isnull=True) | Q(callback_agent=agent))
    mine = promised.filter(callback_agent=agent, contact_id=OuterRef("pk"))
    rank = Case(When(Exists(mine), then=Value(0)), default=Value(1), output_field=IntegerField())
    callbacks = (
        due.filter(callback_at__isnull=False, pk__in=promised.values("contact_id"))
        .order_by(rank, *selectors.due_order(campaign))
        .values_list("pk", "contact__phone")
    )
    rows = list(_lock_candidates(callbacks)[:limit])
    if len(rows) < limit:
        taken = [pk for pk, _phone in rows]
        rest = (
            due.exclude(pk__in=taken)
            .order_by(*selectors.due_order(campaign))
            .values_list("pk", "contact__phone")
        )
        rows += list(_lock_candidates(rest)[: limit - len(rows)])
    return rows


def agent_campaigns_enrol() -> int:
    """Queues the contacts added to running agent campaigns since they started (the next
    contact enrols them itself only once its campaign's queue has run dry)."""
    running = CampaignSettings.objects.filter(
        state=CampaignSettings.State.RUNNING,
        campaign__mode=WorkOrder.Mode.AGENTS,
        campaign__run_status=WorkOrder.RunStatus.READY,
    ).values_list("campaign_id", flat=True)
    return sum(contacts_enrol(campaign_id=pk) for pk in running)


def contact_take_and_dial(
    *, campaign: WorkOrder, agent, now: datetime.datetime | None = None
) -> Interview | None:
    """Progressive dialling: the next contact is taken and dialled in one step. Returns the
    interview (dialled, or the hold the agent already had), or None when nobody is due.
    A dial that fails leaves the contact held for the agent to preview (ValidationError)."""
    now = now or timezone.now()
    interview = contact_reserve(campaign=campaign, agent=agent, now=now, event=Event.TAKE_AND_DIAL)
    if interview is None:
        return None
    session = sessions.session_get(agent=agent)
    if (
        session.state == AgentState.RINGING
        and session.interview_id == interview.pk
        and interview.attempt_id is None
    ):
        interview_dial(interview=interview, agent=agent, now=now)
    return interview


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
        _session_let_go(interview, Event.LAPSE, now)
    return count


def _session_let_go(interview: Interview, event: str, now) -> None:
    """Moves the agent whose session holds `interview` on by `event` (finish, release, a
    lapse), where the table allows it; the session no longer holds the interview."""
    if interview.agent_id is None:
        return
    sessions.session_move(
        agent=interview.agent_id,
        event=event,
        interview=None,
        now=now,
        quietly=True,
        only_holding=interview.pk,
    )


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


def _release_hold(interview: Interview, now) -> None:
    if CallAttempt.objects.filter(contact_id=interview.contact_id, finished_at=None).exists():
        raise ValidationError(_("The call is still going: end it with a disposition."))
    DialState.objects.filter(pk=interview.contact_id, status=DialState.Status.DIALING).update(
        status=DialState.Status.PENDING, next_attempt_at=now
    )
    Interview.objects.filter(pk=interview.pk).update(reserved_until=None)


def interview_release(*, interview: Interview, agent) -> None:
    """Gives the contact back without a call (or after one that has ended)."""
    _check_holder(interview, agent)
    now = timezone.now()
    with transaction.atomic():
        _release_hold(interview, now)
        _session_let_go(interview, Event.RELEASE, now)


# --- the agent's own state -------------------------------------------------------------


def agent_sign_in(*, agent, campaign: WorkOrder, now=None):
    """The agent starts work on `campaign` (or goes on with it): ready for contacts."""
    _check_campaign(campaign, agent)
    return sessions.session_move(agent=agent, event=Event.SIGN_IN, campaign=campaign, now=now)


def agent_sign_out(*, agent, now=None):
    return sessions.session_move(agent=agent, event=Event.SIGN_OUT, now=now)


def agent_pause(*, agent, reason: str, now=None):
    """'Not ready': no contact is given until the agent is ready again. A contact being
    previewed goes back to the queue; one in wrap-up stays held for its disposition;
    during a call the pause is taken when the contact is finished."""
    if reason not in PauseReason.values:
        raise ValidationError(_("Choose why you are pausing."))
    now = now or timezone.now()
    with transaction.atomic():
        session = sessions.session_get(agent=agent)
        fields = {}
        if session.state == AgentState.PREVIEW and session.interview_id:
            interview = Interview.objects.filter(pk=session.interview_id).first()
            if interview is not None and interview.agent_id == agent.pk:
                _release_hold(interview, now)
            fields["interview"] = None
        return sessions.session_move(
            agent=agent, event=Event.PAUSE, reason=reason, now=now, **fields
        )


def agent_resume(*, agent, now=None):
    """Ready again (or back to wrap-up, when a contact still waits for its disposition)."""
    session = sessions.session_get(agent=agent)
    holding = bool(
        session.interview_id
        and Interview.objects.filter(
            pk=session.interview_id, agent=agent, closed_at=None, reserved_until__isnull=False
        ).exists()
    )
    return sessions.session_move(
        agent=agent,
        event=Event.RESUME,
        now=now,
        holding=holding,
        **({} if holding else {"interview": None}),
    )


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
        _session_dial(interview, agent, now)
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
        sessions.session_move(
            agent=agent, event=Event.AGENT_MISSED, quietly=True, only_holding=interview.pk
        )
        raise ValidationError(
            _("Your phone could not be called: %(error)s") % {"error": error}
        ) from error
    Interview.objects.filter(pk=interview.pk, agent_call_sid="").update(agent_call_sid=sid)
    interview.refresh_from_db()
    return attempt


def _session_dial(interview: Interview, agent, now) -> None:
    """The agent's move for a dial: from preview to ringing; nothing when the contact was
    taken and dialled in one step. A contact the session does not know as held (a hold
    from before sessions were kept) is adopted first."""
    session = sessions.session_get(agent=agent)
    taken_and_dialled = session.state == AgentState.RINGING and interview.attempt_id is None
    if session.interview_id == interview.pk and taken_and_dialled:
        return
    if session.interview_id != interview.pk:
        if session.state != AgentState.READY or session.campaign_id != interview.campaign_id:
            sessions.session_move(
                agent=agent, event=Event.SIGN_IN, campaign=interview.campaign, now=now
            )
        sessions.session_move(agent=agent, event=Event.TAKE, interview=interview, now=now)
    sessions.session_move(agent=agent, event=Event.DIAL, now=now)


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
        if interview.agent_id is not None:
            sessions.session_follow_call(agent_id=interview.agent_id)
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
    duration = params.get("DialCallDuration")
    if status is None or attempt["finished_at"] is not None:
        if status == "completed" and str(duration).isdigit():
            _duration_from_carrier(attempt_id, int(duration))
        _follow_attempt(attempt_id)
        return True
    error_code = params.get("ErrorCode", "") or ""
    error_message = ""
    if status == "failed" and not sid and not error_code:
        # No child call was ever made: the carrier could not route to the number.
        outcome = Outcome.INVALID
        error_message = "The number could not be dialled (DialCallStatus failed)."
    else:
        outcome = policy.outcome_for(status=status, error_code=error_code)
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
    _follow_attempt(attempt_id)
    return True


def _duration_from_carrier(attempt_id: int, seconds: int) -> None:
    """An attempt the agent's disposition finished while the call was live has the time
    Waihu counted; the carrier's own figure, when it comes, replaces it."""
    by_agent = CallEvent.objects.filter(
        attempt_id=OuterRef("pk"), status="completed", source=CallEvent.Source.DIALER
    )
    CallAttempt.objects.filter(pk=attempt_id, status="completed").filter(Exists(by_agent)).update(
        duration=seconds
    )


def _follow_attempt(attempt_id: int) -> None:
    """The agent on the attempt's call moves on as the call did."""
    agent_id = (
        Interview.objects.filter(attempt_id=attempt_id).values_list("agent_id", flat=True).first()
    )
    if agent_id is not None:
        sessions.session_follow_call(agent_id=agent_id)


# --- the script ------------------------------------------------------------------------


def placeholder_values(interview: Interview, agent) -> dict:
    """What the script's placeholders stand for in this interview."""
    contact = interview.contact
    rules = settings_for(campaign=interview.campaign)
    values = {
        "customer_name": contact.name,
        "agent_name": str(agent),
        "agent_no": agent.agent_no,
        "caller_number": caller_id_for(rules),
        "brand": contact.brand,
        "region": contact.region,
        "segment": contact.segment,
    }
    for name, value in (contact.attributes or {}).items():
        values.setdefault(str(name), value)
    return values


def call_facts(interview: Interview) -> states.CallFacts:
    """What the carrier has reported about the interview's current call."""
    attempt = (
        CallAttempt.objects.filter(pk=interview.attempt_id).first()
        if interview.attempt_id
        else None
    )
    events = (
        CallEvent.objects.filter(attempt=attempt, status="in-progress")
        if attempt is not None
        else ()
    )
    return states.facts_for(interview, attempt, events)


def interview_answer(
    *,
    interview: Interview,
    agent,
    question_code: str,
    value: AnswerValue,
    seconds: float | None = None,
) -> Walk:
    """Saves the answer to a question on the interview's path and moves on; answers the
    new path no longer asks are dropped. Answers are taken once the customer has been on
    the line. `seconds` is the time the console measured from the question being shown to
    the answer (the opening included, before the first answer): it is kept as a reading."""
    _check_holder(interview, agent)
    question = Question.objects.filter(
        version_id=interview.response.version_id, code=question_code
    ).first()
    if question is None:
        raise ValidationError(_("That question is not in this questionnaire."))
    if not call_facts(interview).connected:
        raise ValidationError(
            _("The customer is not on the line yet: the script goes on once the call connects.")
        )
    opening = not Answer.objects.filter(response_id=interview.response_id).exists()
    walk = surveys.response_answer(response=interview.response, question=question, value=value)
    _touch(interview)
    if seconds is not None:
        version = interview.response.version
        texts = pace.question_texts(question)
        if opening:
            texts = [*pace.opening_texts(version), *texts]
        pace.reading_record(
            interview=interview,
            agent=agent,
            part=ScriptReading.Part.OPENING if opening else ScriptReading.Part.QUESTION,
            texts=texts,
            values=placeholder_values(interview, agent),
            seconds=seconds,
            question=question,
        )
    return walk


def interview_back(*, interview: Interview, agent) -> None:
    _check_holder(interview, agent)
    surveys.response_back(response=interview.response)
    _touch(interview)


# --- hanging up ------------------------------------------------------------------------


def _end_call(interview: Interview) -> None:
    """Asks the carrier to end the agent's leg, and with it the customer's."""
    sid = (
        interview.agent_call_sid
        or Interview.objects.filter(pk=interview.pk)
        .values_list("agent_call_sid", flat=True)
        .first()
    )
    if not sid:
        return
    try:
        telephony.call_end(sid)
    except telephony.TelephonyError as error:
        raise ValidationError(
            _("The call could not be hung up: %(error)s. Try again.") % {"error": error}
        ) from error


def interview_hang_up(*, interview: Interview, agent, now=None) -> None:
    """Ends the call. The attempt is finished by the carrier's reports of the end (or,
    failing them, by the disposition); the agent is in wrap-up from now."""
    _check_holder(interview, agent)
    now = now or timezone.now()
    if not call_facts(interview).live:
        raise ValidationError(_("There is no call to hang up."))
    _end_call(interview)
    sessions.session_move(
        agent=agent, event=Event.HANG_UP, now=now, quietly=True, only_holding=interview.pk
    )


# --- the disposition -------------------------------------------------------------------


def _settle_live_call(interview: Interview, disposition: str, facts, now) -> None:
    """A disposition recorded during the call hangs it up first. The attempt is then
    finished by the agent's word unless the carrier has already reported its end, with the
    time talked counted from the customer's answer (the carrier's figure, when its <Dial>
    action comes, replaces it)."""
    if facts.live:
        _end_call(interview)
    attempt = CallAttempt.objects.filter(pk=interview.attempt_id).first()
    if attempt is None or attempt.finished_at is not None:
        return
    duration = None
    if facts.connected:
        status, outcome = UNREACHED.get(disposition, ("completed", Outcome.ANSWERED))
        if status == "completed":
            duration = max(0, round((now - facts.answered_at).total_seconds()))
    elif disposition in UNREACHED:
        status, outcome = UNREACHED[disposition]
    elif disposition == Disposition.WRONG_NUMBER:
        status, outcome = "failed", Outcome.INVALID
    else:
        status, outcome = "canceled", Outcome.CANCELED
    attempt_finish(
        attempt_id=attempt.pk,
        status=status,
        outcome=outcome,
        duration=duration,
        source=CallEvent.Source.DIALER,
    )


def interview_finish(
    *,
    interview: Interview,
    agent,
    disposition: str,
    notes: str = "",
    callback_at: datetime.datetime | None = None,
    callback_mine: bool = False,
    closing_seconds: float | None = None,
    now: datetime.datetime | None = None,
) -> Interview:
    """Ends the agent's work on the contact. The disposition decides the contact's next
    step: reached, invalid, on the do-not-call list, called back at a time (by this agent
    or anyone), or called again as the retry policy says. A partial interview, a callback
    and a retry keep the interview open, to be resumed where it stopped. Each disposition
    needs the call to have come so far (states.DISPOSITION_NEEDS); a call still live is
    hung up first. `closing_seconds` is the time the console measured over the closing."""
    now = now or timezone.now()
    _check_holder(interview, agent)
    if disposition not in AGENT_DISPOSITIONS:
        raise ValidationError(_("Choose how the call ended."))
    facts = call_facts(interview)
    states.check_disposition(disposition, facts)
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
    if facts.dialled:
        _settle_live_call(interview, disposition, facts, now)
    if closing_seconds is not None and response.status != ResponseStatus.IN_PROGRESS:
        pace.reading_record(
            interview=interview,
            agent=agent,
            part=ScriptReading.Part.CLOSING,
            texts=pace.closing_texts(
                response.version, screened_out=response.status == ResponseStatus.SCREENED_OUT
            ),
            values=placeholder_values(interview, agent),
            seconds=closing_seconds,
            now=now,
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
        _session_let_go(interview, Event.FINISH, now)
    interview.refresh_from_db()
    return interview


def _note_line(agent, disposition: str, notes: str, now) -> str:
    stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
    label = str(Disposition(disposition).label)
    line = f"{stamp} {agent}: {label}"
    notes = notes.strip()
    return f"{line}. {notes}" if notes else line
