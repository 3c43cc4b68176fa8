"""Reads for the agent console and the supervisor page: the campaigns an agent works, the
contacts due for them, a contact's history, the live state of a call, the room's numbers."""

import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from accounts.roles import Role
from outbound.agent import states
from outbound.dialer import counts
from outbound.models import (
    AgentSession,
    AgentState,
    AgentStateChange,
    CallAttempt,
    CallEvent,
    CampaignSettings,
    Contact,
    DialState,
    Interview,
    PauseReason,
    ScriptReading,
    WorkOrder,
)
from outbound.privacy import policy_for

# Where a call stands, as the agent sees it.
CONNECTED = ("in-progress",)
RINGING = ("queued", "initiated", "ringing")


def is_agent(user) -> bool:
    return bool(user.is_authenticated and user.has_role(Role.CALL_AGENT))


def is_supervisor(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN)))


def agent_campaigns(*, user) -> QuerySet[WorkOrder]:
    """The agent-mode campaigns whose team includes `user` and that are running."""
    if not is_agent(user):
        return WorkOrder.objects.none()
    return (
        WorkOrder.objects.filter(
            mode=WorkOrder.Mode.AGENTS,
            run_status=WorkOrder.RunStatus.READY,
            dialing__state=CampaignSettings.State.RUNNING,
        )
        .filter(
            Exists(WorkOrder.team.through.objects.filter(workorder_id=OuterRef("pk"), user=user))
        )
        .select_related("dialing", "questionnaire__questionnaire")
        .order_by("title", "pk")
    )


def agent_campaign_for(*, user, pk: int) -> WorkOrder:
    """The campaign `pk` if `user` works it now (WorkOrder.DoesNotExist otherwise)."""
    return agent_campaigns(user=user).get(pk=pk)


def interview_for(*, user, pk: int) -> Interview:
    """The interview `pk` if `user` is its agent (Interview.DoesNotExist otherwise)."""
    return Interview.objects.select_related(
        "campaign__dialing",
        "campaign__questionnaire__questionnaire",
        "contact",
        "response__version__questionnaire",
        "response__current_question",
        "attempt",
        "agent",
        "callback_agent",
    ).get(pk=pk, agent=user, channel=Interview.Channel.AGENT)


def open_interviews(*, user) -> QuerySet[Interview]:
    """The interviews `user` holds now."""
    return (
        Interview.objects.filter(agent=user, closed_at=None, reserved_until__isnull=False)
        .select_related("contact", "campaign")
        .order_by("-updated_at")
    )


def due_states(
    *,
    campaign: WorkOrder,
    rules: CampaignSettings,
    agent,
    now: datetime.datetime,
    ranked: bool = True,
) -> QuerySet[DialState]:
    """Contacts waiting to be called that `agent` may take now, best first: callbacks
    promised to this agent, other callbacks, then by the time they became due. Without
    `ranked`, unordered: the claim reads callbacks and the rest apart, each in the order
    an index gives (ranking every due contact would sort the whole queue)."""
    open_interviews_qs = Interview.objects.filter(contact_id=OuterRef("pk"), closed_at=None)
    promised_elsewhere = open_interviews_qs.filter(callback_agent__isnull=False).exclude(
        callback_agent=agent
    )
    held_elsewhere = open_interviews_qs.filter(reserved_until__gt=now).exclude(agent=agent)
    promised_here = open_interviews_qs.filter(callback_agent=agent)
    due = (
        DialState.objects.filter(campaign=campaign, status=DialState.Status.PENDING)
        .filter(next_attempt_at__lte=now)
        .filter(Q(callback_at__isnull=False) | Q(attempts__lt=rules.max_attempts))
        .exclude(Exists(promised_elsewhere.filter(callback_at__isnull=False)))
        .exclude(Exists(held_elsewhere))
    )
    if not ranked:
        return due
    rank = Case(
        When(Exists(promised_here), then=Value(0)),
        When(callback_at__isnull=False, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return due.order_by(rank, *due_order(campaign))


def due_order(campaign: WorkOrder) -> list:
    """The queue's order after the callbacks: a complaint's deadline first, then the time
    the contact became due (due contacts all have one: the queue's index order)."""
    order = []
    if campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK:
        order.append(F("contact__deadline").asc(nulls_last=True))
    return [*order, F("next_attempt_at").asc(), "pk"]


def contact_history(*, contact: Contact, exclude_interview: int | None = None) -> dict:
    """Earlier calls to the contact with their status timelines, and earlier interviews
    with their dispositions and notes."""
    attempts = list(
        CallAttempt.objects.filter(contact=contact)
        .prefetch_related(
            Prefetch("events", queryset=CallEvent.objects.order_by("occurred_at", "pk"))
        )
        .order_by("-created_at", "-pk")
    )
    interviews = (
        Interview.objects.filter(contact=contact)
        .exclude(pk=exclude_interview)
        .select_related("agent", "response")
        .order_by("-started_at", "-pk")
    )
    return {"attempts": attempts, "interviews": list(interviews)}


def _duration(attempt: CallAttempt, now: datetime.datetime) -> int | None:
    if attempt.duration is not None:
        return attempt.duration
    events = {event.status: event for event in attempt.events.all()}
    final = next((events[s] for s in CallAttempt.FINAL_STATUSES if s in events), None)
    if final is not None and str(final.details.get("CallDuration", "")).isdigit():
        return int(final.details["CallDuration"])
    started = events.get("in-progress") or events.get("answered")
    if started is None:
        return None
    end = final.occurred_at if final is not None else now
    return max(0, round((end - started.occurred_at).total_seconds()))


def call_state(*, interview: Interview, now: datetime.datetime | None = None) -> dict:
    """The live state of the interview's call, from the carrier's status callbacks."""
    now = now or timezone.now()
    attempt = (
        CallAttempt.objects.filter(pk=interview.attempt_id)
        .prefetch_related(Prefetch("events", queryset=CallEvent.objects.order_by("occurred_at")))
        .first()
        if interview.attempt_id
        else None
    )
    if attempt is None:
        phase = "agent_ringing" if interview.agent_call_status in RINGING else "idle"
        return {
            "phase": phase,
            "status": "",
            "agent_status": interview.agent_call_status,
            "outcome": "",
            "duration": None,
            "events": [],
            "dialled": phase != "idle",
            "connected": False,
            "live": phase != "idle",
            "answered_at": None,
        }
    facts = states.facts_for(interview, attempt, attempt.events.all())
    if attempt.finished_at is not None:
        phase = "ended"
    elif attempt.status in CONNECTED:
        phase = "connected"
    elif attempt.status in RINGING:
        phase = "ringing"
    elif interview.agent_call_status in RINGING + CONNECTED:
        phase = "agent_ringing" if interview.agent_call_status in RINGING else "agent_connected"
    else:
        phase = "idle"
    return {
        "phase": phase,
        "status": attempt.status,
        "agent_status": interview.agent_call_status,
        "outcome": attempt.outcome,
        "outcome_label": str(attempt.get_outcome_display()) if attempt.outcome else "",
        "duration": _duration(attempt, now),
        "events": [
            {"status": event.status, "at": event.occurred_at.isoformat()}
            for event in attempt.events.all()
        ],
        "dialled": True,
        "connected": facts.connected,
        "live": facts.live,
        "answered_at": facts.answered_at.isoformat() if facts.answered_at else None,
    }


def supervisor_overview(*, now: datetime.datetime | None = None) -> dict:
    """The agents at work today with their states (agent_board), how many interviews each
    completed in the last hour, and the contacts left in each running agent campaign. A
    fixed number of queries, however many agents and campaigns."""
    now = now or timezone.now()
    hour_ago = now - datetime.timedelta(hours=1)
    completes = dict(
        Interview.objects.filter(
            channel=Interview.Channel.AGENT,
            disposition=Interview.Disposition.COMPLETED,
            closed_at__gte=hour_ago,
        )
        .values_list("agent")
        .annotate(n=Count("pk"))
        .values_list("agent", "n")
    )
    campaigns = list(
        WorkOrder.objects.filter(
            mode=WorkOrder.Mode.AGENTS, dialing__state=CampaignSettings.State.RUNNING
        ).order_by("title", "pk")
    )
    ids = [campaign.pk for campaign in campaigns]
    kept = counts.campaign_counts(campaign_ids=ids)
    completed = _by_campaign(
        Interview.objects.filter(
            campaign_id__in=ids,
            disposition=Interview.Disposition.COMPLETED,
            closed_at__gte=hour_ago,
        )
    )
    for campaign in campaigns:
        numbers = kept[campaign.pk]
        campaign.contacts_total = numbers[(counts.CONTACT, "")]
        campaign.contacts_waiting = numbers[(counts.STATE, DialState.Status.PENDING)]
        campaign.contacts_left = campaign.contacts_total - sum(
            numbers[(counts.STATE, status)] for status in DialState.FINAL
        )
        campaign.completes_last_hour = completed.get(campaign.pk, 0)
    board = agent_board(now=now)
    for row in board:
        row["completes_last_hour"] = completes.get(row["agent"].pk, 0)
    return {
        "agents": board,
        "completes_last_hour": sum(completes.values()),
        "campaigns": campaigns,
        "now": now,
    }


def _by_campaign(rows: QuerySet) -> dict[int, int]:
    return dict(
        rows.order_by()
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )


# --- agents' states --------------------------------------------------------------------

# A console that has not been heard from for this long is shown as away.
AWAY_AFTER = datetime.timedelta(minutes=2)


def day_start(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def live_state(session, facts, now: datetime.datetime) -> tuple[list, str, datetime.datetime]:
    """The stretches the session's call has carried the agent through since it was last
    written, and the state the agent is in now with the moment it began."""
    stretches = states.follow_call(session.state, session.since, facts, now=now)
    if stretches:
        return stretches, stretches[-1].state, stretches[-1].since
    return [], session.state, session.since


def _session_facts(session, events_by_attempt) -> states.CallFacts:
    interview = session.interview
    if interview is None:
        return states.CallFacts()
    attempt = interview.attempt
    events = events_by_attempt.get(attempt.pk, ()) if attempt is not None else ()
    return states.facts_for(interview, attempt, events)


def agent_board(*, now: datetime.datetime | None = None, agent=None) -> list[dict]:
    """Every agent at work today (or `agent` alone): the state they are in and since when,
    the campaign and contact, the time spent in each state today, the contacts finished
    today and the speaking pace today. Six queries, however many agents."""
    from outbound.agent import pace as pace_module

    now = now or timezone.now()
    start = day_start(now)
    found = (
        AgentSession.objects.select_related(
            "agent", "campaign", "interview__contact", "interview__attempt"
        )
        .filter(Q(since__gte=start) | ~Q(state=AgentState.OFFLINE))
        .order_by("agent__username")
    )
    if agent is not None:
        found = found.filter(pk=agent.pk)
    found = list(found)
    ids = [session.pk for session in found]
    attempt_ids = [
        session.interview.attempt_id
        for session in found
        if session.interview is not None and session.interview.attempt_id
    ]
    events_by_attempt: dict[int, list] = {}
    for event in CallEvent.objects.filter(attempt_id__in=attempt_ids, status="in-progress"):
        events_by_attempt.setdefault(event.attempt_id, []).append(event)
    spent: dict[int, dict[str, float]] = {}
    for agent_id, state, seconds in (
        AgentStateChange.objects.filter(agent_id__in=ids, started_at__gte=start)
        .exclude(ended_at=None)
        .order_by()
        .values_list("agent_id", "state")
        .annotate(total=Sum("seconds"))
    ):
        spent.setdefault(agent_id, {})[state] = seconds or 0.0
    finished = dict(
        AgentStateChange.objects.filter(
            agent_id__in=ids, started_at__gte=start, event=states.Event.FINISH
        )
        .order_by()
        .values_list("agent_id")
        .annotate(n=Count("pk"))
        .values_list("agent_id", "n")
    )
    paces: dict[int, object] = {}
    for agent_id, unit, units, seconds in (
        ScriptReading.objects.filter(agent_id__in=ids, recorded_at__gte=start)
        .order_by()
        .values_list("agent_id", "unit")
        .annotate(units=Sum("units"), seconds=Sum("reading_seconds"))
        .order_by("agent_id", "-units")
    ):
        paces.setdefault(agent_id, pace_module.pace_of(units, seconds, unit))
    rows = []
    for session in found:
        facts = _session_facts(session, events_by_attempt)
        stretches, state, since = live_state(session, facts, now)
        totals = dict(spent.get(session.pk, {}))
        # The stretch still open, and those the call has made since, count up to now.
        marks = [(session.state, session.since), *((s.state, s.since) for s in stretches)]
        ends = [since_ for _state, since_ in marks[1:]] + [now]
        for (mark_state, begun), ended in zip(marks, ends, strict=True):
            begun = max(begun, start)
            if ended > begun:
                totals[mark_state] = totals.get(mark_state, 0.0) + (ended - begun).total_seconds()
        rows.append(
            {
                "session": session,
                "agent": session.agent,
                "campaign": session.campaign,
                "interview": session.interview,
                "contact": session.interview.contact if session.interview else None,
                "state": state,
                "state_label": str(AgentState(state).label),
                "reason": session.reason,
                "reason_label": str(PauseReason(session.reason).label) if session.reason else "",
                "pause_asked": session.pause_asked,
                "since": since,
                "seconds": max(0, round((now - since).total_seconds())),
                "facts": facts,
                "spent": {name: round(totals.get(name, 0.0)) for name in BOARD_STATES},
                "spent_rows": [
                    (name, name.label, round(totals.get(name, 0.0))) for name in BOARD_STATES
                ],
                "finished_today": finished.get(session.pk, 0),
                "pace": paces.get(session.pk),
                "away": state != AgentState.OFFLINE
                and (session.last_seen_at is None or now - session.last_seen_at > AWAY_AFTER),
            }
        )
    return rows


BOARD_STATES = (
    AgentState.READY,
    AgentState.PREVIEW,
    AgentState.RINGING,
    AgentState.TALKING,
    AgentState.WRAP_UP,
    AgentState.PAUSED,
)


def board_json(rows: list[dict], *, viewer) -> list[dict]:
    """The board's rows for the page's script; a contact without a name by their number,
    as `viewer` may see it."""
    policy = policy_for(viewer)
    return [
        {
            "agent": row["agent"].username,
            "name": str(row["agent"]),
            "agent_no": row["agent"].agent_no,
            "campaign": row["campaign"].title if row["campaign"] else "",
            "contact": (
                row["contact"].name or policy.phone(row["contact"].phone, contact=row["contact"])
            )
            if row["contact"]
            else "",
            "state": row["state"],
            "state_label": row["state_label"],
            "reason": row["reason"],
            "reason_label": row["reason_label"],
            "since": row["since"].isoformat(),
            "seconds": row["seconds"],
            "spent": row["spent"],
            "finished_today": row["finished_today"],
            "pace": row["pace"].as_json() if row["pace"] else None,
            "away": row["away"],
            "completes_last_hour": row.get("completes_last_hour", 0),
        }
        for row in rows
    ]
