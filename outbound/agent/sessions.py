"""Moving an agent between states. Every move is looked up in the table of
outbound/agent/states.py, made under a lock on the agent's session row, and kept: the
stretch the agent leaves is closed with its length, a new one is opened. The call's own
progress (the customer answering, the call ending) is applied first, with the times the
carrier gave, so the stretches are those the agent really lived through."""

import datetime

from django.db import transaction
from django.utils import timezone

from outbound.agent import states
from outbound.agent.states import Event
from outbound.models import (
    AgentSession,
    AgentState,
    AgentStateChange,
    CallEvent,
    Interview,
)

UNSET = object()
# States in which the held interview's call may still move the agent on.
FOLLOWS_CALL = (AgentState.RINGING, AgentState.TALKING, AgentState.WRAP_UP)


def session_get(*, agent) -> AgentSession:
    """The agent's session, made (not working) on first use."""
    session, _created = AgentSession.objects.get_or_create(
        agent=agent, defaults={"since": timezone.now()}
    )
    return session


def _locked(agent_id: int, now: datetime.datetime) -> AgentSession:
    """The agent's session row, locked (made first, the first time): one query once made."""
    session = AgentSession.objects.select_for_update().filter(pk=agent_id).first()
    if session is not None:
        return session
    AgentSession.objects.get_or_create(agent_id=agent_id, defaults={"since": now})
    return AgentSession.objects.select_for_update().get(pk=agent_id)


def _enter(
    session: AgentSession,
    state: str,
    *,
    at: datetime.datetime,
    event: str,
    reason: str = "",
    **fields,
) -> None:
    """Closes the stretch the agent is in at `at` and opens one in `state`."""
    at = max(at, session.since)
    for name, value in fields.items():
        setattr(session, name, value)
    AgentStateChange.objects.filter(agent_id=session.agent_id, ended_at=None).update(
        ended_at=at, seconds=(at - session.since).total_seconds()
    )
    change = AgentStateChange.objects.create(
        agent_id=session.agent_id,
        campaign_id=session.campaign_id,
        state=state,
        reason=reason,
        event=event,
        interview_id=session.interview_id,
        started_at=at,
    )
    fields.update(state=state, reason=reason, since=at, change=change)
    changed = AgentSession.objects.filter(pk=session.pk, state=session.state).update(**fields)
    if changed != 1:  # the row is locked: only a bug gets here
        raise RuntimeError(f"agent session {session.pk} moved under its lock")
    for name, value in fields.items():
        setattr(session, name, value)


def _facts(session: AgentSession) -> states.CallFacts:
    interview = (
        Interview.objects.select_related("attempt").filter(pk=session.interview_id).first()
        if session.interview_id
        else None
    )
    if interview is None:
        return states.CallFacts()
    attempt = interview.attempt
    events = (
        CallEvent.objects.filter(attempt=attempt, status="in-progress").only(
            "status", "occurred_at"
        )
        if attempt is not None
        else ()
    )
    return states.facts_for(interview, attempt, events)


def _follow(session: AgentSession, now: datetime.datetime) -> None:
    if session.state not in FOLLOWS_CALL or session.interview_id is None:
        return
    for stretch in states.follow_call(session.state, session.since, _facts(session), now=now):
        _enter(session, stretch.state, at=stretch.since, event=stretch.event)


def session_follow_call(*, agent_id: int, now: datetime.datetime | None = None) -> AgentSession:
    """Applies what the carrier has reported about the agent's call."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked(agent_id, now)
        _follow(session, now)
    return session


def session_move(
    *,
    agent,
    event: str,
    now: datetime.datetime | None = None,
    campaign=UNSET,
    interview=UNSET,
    reason: str = "",
    holding: bool = False,
    quietly: bool = False,
    only_holding: int | None = None,
) -> AgentSession:
    """Moves `agent` (a user, or a user's id) by `event` as the table says: an event that
    may not happen now raises IllegalTransition, or with `quietly` changes nothing.
    `campaign` and `interview` replace the session's when given; `reason` is a pause's;
    `holding` says whether the agent still holds a contact afterwards. With
    `only_holding`, nothing happens unless the session holds that interview."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked(getattr(agent, "pk", agent), now)
        if only_holding is not None and session.interview_id != only_holding:
            return session
        _follow(session, now)
        before = session.state
        if quietly and not states.allowed(before, event):
            return session
        to = states.target(before, event, holding=holding, pause_asked=bool(session.pause_asked))
        fields = {}
        if campaign is not UNSET:
            fields["campaign"] = campaign
        if interview is not UNSET:
            fields["interview"] = interview
        if event == Event.PAUSE and before in states.ON_CALL:
            fields["pause_asked"] = reason
        if event == Event.FINISH:
            reason = reason or session.pause_asked or session.reason
            fields["pause_asked"] = ""
        reason = (reason or session.reason) if to == AgentState.PAUSED else ""
        if to != before or reason != session.reason:
            _enter(session, to, at=now, event=event, reason=reason, **fields)
        elif fields:
            AgentSession.objects.filter(pk=session.pk).update(**fields)
            for name, value in fields.items():
                setattr(session, name, value)
    return session


SEEN_EVERY = datetime.timedelta(seconds=30)


def session_seen(*, agent_id: int, now: datetime.datetime | None = None) -> None:
    """Notes that the agent's console is open; written at most every 30 seconds."""
    now = now or timezone.now()
    AgentSession.objects.filter(pk=agent_id).exclude(last_seen_at__gt=now - SEEN_EVERY).update(
        last_seen_at=now
    )
