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
    Value,
    When,
)
from django.utils import timezone

from accounts.roles import Role
from outbound.models import (
    CallAttempt,
    CallEvent,
    CampaignSettings,
    Contact,
    DialState,
    Interview,
    WorkOrder,
)

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
    *, campaign: WorkOrder, rules: CampaignSettings, agent, now: datetime.datetime
) -> QuerySet[DialState]:
    """Contacts waiting to be called that `agent` may take now, best first: callbacks
    promised to this agent, other callbacks, then by the time they became due."""
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
    rank = Case(
        When(Exists(promised_here), then=Value(0)),
        When(callback_at__isnull=False, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    order = [rank]
    if campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK:
        order.append(F("contact__deadline").asc(nulls_last=True))
    order += [F("next_attempt_at").asc(nulls_first=True), "pk"]
    return due.order_by(*order)


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
        }
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
    }


def supervisor_overview(*, now: datetime.datetime | None = None) -> dict:
    """Who is working, on which call, how many interviews each completed in the last hour,
    and the contacts left in each running agent campaign."""
    now = now or timezone.now()
    hour_ago = now - datetime.timedelta(hours=1)
    working = list(
        Interview.objects.filter(
            channel=Interview.Channel.AGENT, closed_at=None, reserved_until__gt=now
        )
        .select_related("agent", "campaign", "contact", "attempt")
        .order_by("agent__username", "-updated_at")
    )
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
    totals = _by_campaign(Contact.objects.filter(campaign_id__in=ids))
    waiting = _by_campaign(
        DialState.objects.filter(campaign_id__in=ids, status=DialState.Status.PENDING)
    )
    done = _by_campaign(DialState.objects.filter(campaign_id__in=ids, status__in=DialState.FINAL))
    completed = _by_campaign(
        Interview.objects.filter(
            campaign_id__in=ids,
            disposition=Interview.Disposition.COMPLETED,
            closed_at__gte=hour_ago,
        )
    )
    for campaign in campaigns:
        campaign.contacts_total = totals.get(campaign.pk, 0)
        campaign.contacts_waiting = waiting.get(campaign.pk, 0)
        campaign.contacts_left = campaign.contacts_total - done.get(campaign.pk, 0)
        campaign.completes_last_hour = completed.get(campaign.pk, 0)
    agents: dict[int, dict] = {}
    for interview in working:
        row = agents.setdefault(
            interview.agent_id,
            {"agent": interview.agent, "interviews": [], "completes_last_hour": 0},
        )
        row["interviews"].append(interview)
    for agent_id, row in agents.items():
        row["completes_last_hour"] = completes.get(agent_id, 0)
    return {
        "agents": list(agents.values()),
        "completes_last_hour": sum(completes.values()),
        "campaigns": campaigns,
    }


def _by_campaign(rows: QuerySet) -> dict[int, int]:
    return dict(
        rows.order_by()
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
