"""The agent flow in one place. An agent's work on a contact touches three records: the
contact's DialState (its place in the queue), the Interview (the contact held for the agent,
the script, the disposition) and the CallAttempt (the customer's leg, driven by the
carrier). This module names the agent's states, the events that move them, and for each
event the states it may happen in, the state it leads to, and what it does to those three
records. The services consult TRANSITIONS before they change anything; the console, the
supervisor page and the state history all read the same table.

A call's own progress (the customer answering, the call ending, the agent's phone not
being answered) is not an action of the agent: it is read from the carrier's reports
(`call_events`) and applied with the time the carrier gives, whenever it is first seen."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from outbound.models import AgentState, Interview

S = AgentState
Disposition = Interview.Disposition


class Event(models.TextChoices):
    SIGN_IN = "sign_in", gettext_lazy("Started work on a campaign")
    TAKE = "take", gettext_lazy("Took a contact to preview")
    TAKE_AND_DIAL = "take_and_dial", gettext_lazy("Was given a contact, dialled at once")
    DIAL = "dial", gettext_lazy("Dialled")
    AGENT_MISSED = "agent_missed", gettext_lazy("Own phone not answered")
    ANSWERED = "answered", gettext_lazy("Customer answered")
    CALL_ENDED = "call_ended", gettext_lazy("Call ended")
    HANG_UP = "hang_up", gettext_lazy("Hung up")
    FINISH = "finish", gettext_lazy("Recorded a disposition")
    RELEASE = "release", gettext_lazy("Gave the contact back")
    PAUSE = "pause", gettext_lazy("Paused")
    RESUME = "resume", gettext_lazy("Ready again")
    LAPSE = "lapse", gettext_lazy("Hold lapsed")
    SIGN_OUT = "sign_out", gettext_lazy("Stopped work")


@dataclass(frozen=True)
class Transition:
    event: Event
    sources: frozenset[AgentState]
    target: AgentState
    # Sources in which the event leaves the agent where they are.
    keeps: frozenset[AgentState] = frozenset()
    # When the agent still holds a contact afterwards (a disposition not yet recorded).
    target_holding: AgentState | None = None
    # When the agent asked for a pause during the call that has just been finished.
    target_pause_asked: AgentState | None = None
    # What the event does to the contact's DialState, the Interview and the CallAttempt.
    effects: str = ""


def _t(event, sources, target, effects, *, keeps=(), holding=None, pause_asked=None):
    return Transition(
        event, frozenset(sources), target, frozenset(keeps), holding, pause_asked, effects
    )


ON_CALL = (S.RINGING, S.TALKING)

TRANSITIONS: dict[Event, Transition] = {
    t.event: t
    for t in (
        _t(
            Event.SIGN_IN,
            [S.OFFLINE, S.READY, S.PAUSED],
            S.READY,
            "none",
            keeps=[S.READY, S.PAUSED],
        ),
        _t(
            Event.TAKE,
            [S.READY],
            S.PREVIEW,
            "DialState pending → dialing; the contact's Interview opened (or resumed) and "
            "held for the agent (reserved_until)",
        ),
        _t(Event.TAKE_AND_DIAL, [S.READY], S.RINGING, "as take, then as dial"),
        _t(
            Event.DIAL,
            [S.PREVIEW],
            S.RINGING,
            "CallAttempt created (the customer's leg) and set on the Interview; DialState "
            "attempts + 1; the agent's own phone rung",
        ),
        _t(
            Event.AGENT_MISSED,
            [S.RINGING, S.WRAP_UP],
            S.PREVIEW,
            "the agent's leg ended before the customer was dialled: the CallAttempt is "
            "dropped, DialState attempts − 1, the Interview still held",
        ),
        _t(
            Event.ANSWERED,
            [S.RINGING],
            S.TALKING,
            "CallAttempt in-progress (the carrier's callback); the script may go on",
        ),
        _t(
            Event.CALL_ENDED,
            ON_CALL,
            S.WRAP_UP,
            "CallAttempt finished by the carrier; DialState scheduled by the retry policy "
            "until the disposition decides",
        ),
        _t(
            Event.HANG_UP,
            ON_CALL,
            S.WRAP_UP,
            "the carrier is asked to end the agent's leg (and with it the customer's); the "
            "CallAttempt is finished by the carrier's reports",
        ),
        _t(
            Event.FINISH,
            [S.PREVIEW, *ON_CALL, S.WRAP_UP, S.PAUSED],
            S.READY,
            "a live call is hung up first and its CallAttempt finished with the time "
            "talked; DialState set by the disposition; the Interview closed, or kept open "
            "to be resumed (partial, callback, a retry)",
            keeps=[S.PAUSED],
            pause_asked=S.PAUSED,
        ),
        _t(
            Event.RELEASE,
            [S.PREVIEW, S.WRAP_UP],
            S.READY,
            "DialState dialing → pending (due now); the hold on the Interview dropped",
        ),
        _t(
            Event.PAUSE,
            [S.READY, S.PREVIEW, S.WRAP_UP, S.PAUSED, *ON_CALL],
            S.PAUSED,
            "a contact being previewed goes back to the queue (as release); one in wrap-up "
            "stays held for its disposition; during a call the pause is noted and taken "
            "when the contact is finished",
            keeps=ON_CALL,
        ),
        _t(
            Event.RESUME,
            [S.PAUSED],
            S.READY,
            "none; back to wrap-up while a contact still waits for its disposition",
            holding=S.WRAP_UP,
        ),
        _t(
            Event.LAPSE,
            [S.PREVIEW, S.WRAP_UP, S.PAUSED],
            S.READY,
            "the hold expired (reservations_expire): DialState back to pending, or the "
            "Interview closed when its script had ended",
            keeps=[S.PAUSED],
        ),
        _t(
            Event.SIGN_OUT,
            [S.READY, S.PAUSED, S.OFFLINE],
            S.OFFLINE,
            "none; only without a contact held",
        ),
    )
}


class IllegalTransition(ValidationError):
    pass


def allowed(state: str, event: str) -> bool:
    return state in TRANSITIONS[Event(event)].sources


def target(
    state: str, event: str, *, holding: bool = False, pause_asked: bool = False
) -> AgentState:
    """The state `event` leads to from `state`, or IllegalTransition."""
    rule = TRANSITIONS[Event(event)]
    if state not in rule.sources:
        raise IllegalTransition(message_for(state, event), code="illegal_transition")
    if state in rule.keeps:
        return AgentState(state)
    if pause_asked and rule.target_pause_asked is not None:
        return rule.target_pause_asked
    if holding and rule.target_holding is not None:
        return rule.target_holding
    return rule.target


def message_for(state: str, event: str) -> str:
    """Why an agent in `state` cannot do `event`, in the agent's words."""
    if state == S.PAUSED and event in (Event.TAKE, Event.TAKE_AND_DIAL, Event.DIAL):
        return _("You are paused. Press Ready to take calls again.")
    if state in ON_CALL:
        return _("You are on a call: hang up or record how it ended first.")
    if state == S.OFFLINE:
        return _("Start work on the campaign first.")
    if event in (Event.TAKE, Event.TAKE_AND_DIAL):
        return _("Finish the contact you hold before taking the next.")
    if event == Event.SIGN_OUT:
        return _("Record how the call ended, or give the contact back, before you stop.")
    if event == Event.DIAL:
        return _("This contact has been called already. Record a disposition or take the next.")
    return _("That cannot be done now (%(state)s).") % {"state": AgentState(state).label}


# --- the call's own progress -----------------------------------------------------------

CONNECTED_STATUSES = ("in-progress", "completed")
AGENT_LEG_ENDED = ("completed", "busy", "no-answer", "failed", "canceled")


@dataclass(frozen=True)
class CallFacts:
    """What the carrier has reported about the call of the interview an agent holds."""

    dialled: bool = False  # a customer attempt exists
    answered_at: datetime.datetime | None = None  # the customer's leg went in-progress
    ended_at: datetime.datetime | None = None  # the attempt has finished
    agent_leg_ended: bool = False  # the agent's leg ended before the customer was dialled

    @property
    def live(self) -> bool:
        return self.dialled and self.ended_at is None

    @property
    def connected(self) -> bool:
        return self.answered_at is not None


def facts_for(interview, attempt, events: Iterable | None = None) -> CallFacts:
    """The CallFacts of `interview` from its attempt and the attempt's CallEvents (`events`,
    any iterable of objects with status and occurred_at)."""
    if attempt is None:
        return CallFacts(
            agent_leg_ended=bool(interview is not None)
            and interview.agent_call_status in AGENT_LEG_ENDED
        )
    answered = None
    for event in events if events is not None else ():
        if event.status == "in-progress":
            answered = event.occurred_at
    if answered is None and attempt.status in CONNECTED_STATUSES:
        # Answered, though the in-progress report went missing: the duration tells when.
        end = attempt.finished_at
        if end is not None and attempt.duration is not None:
            answered = end - datetime.timedelta(seconds=attempt.duration)
        else:
            answered = attempt.placed_at or attempt.created_at
    return CallFacts(dialled=True, answered_at=answered, ended_at=attempt.finished_at)


def call_events(facts: CallFacts) -> list[tuple[Event, datetime.datetime | None]]:
    """The call-driven events the facts imply, in the order they happened."""
    if not facts.dialled:
        return [(Event.AGENT_MISSED, None)] if facts.agent_leg_ended else []
    found: list[tuple[Event, datetime.datetime | None]] = []
    if facts.answered_at is not None:
        found.append((Event.ANSWERED, facts.answered_at))
    if facts.ended_at is not None:
        found.append((Event.CALL_ENDED, facts.ended_at))
    return found


@dataclass(frozen=True)
class Stretch:
    state: AgentState
    since: datetime.datetime
    event: Event


def follow_call(
    state: str, since: datetime.datetime, facts: CallFacts, *, now: datetime.datetime
) -> list[Stretch]:
    """The states an agent in `state` (since `since`) has gone through as the call went
    on: each stretch with the time it began (never before the one it follows)."""
    stretches: list[Stretch] = []
    current = AgentState(state)
    for event, at in call_events(facts):
        if not allowed(current, event):
            continue
        nxt = target(current, event)
        if nxt == current:
            continue
        moment = max(at or now, since)
        moment = min(moment, now)
        stretches.append(Stretch(nxt, moment, event))
        current, since = nxt, moment
    return stretches


# --- dispositions ----------------------------------------------------------------------


class Needs(models.TextChoices):
    """What a disposition needs to have happened on the call first."""

    NOTHING = "nothing", gettext_lazy("no call")
    DIALLED = "dialled", gettext_lazy("a call placed")
    CONNECTED = "connected", gettext_lazy("the customer on the line")


DISPOSITION_NEEDS: dict[str, Needs] = {
    Disposition.COMPLETED: Needs.CONNECTED,
    Disposition.PARTIAL: Needs.CONNECTED,
    Disposition.REFUSED: Needs.CONNECTED,
    Disposition.NOT_ELIGIBLE: Needs.CONNECTED,
    Disposition.DO_NOT_CALL: Needs.CONNECTED,
    Disposition.NO_ANSWER: Needs.DIALLED,
    Disposition.BUSY: Needs.DIALLED,
    # Seen on the contact's record before dialling: a number that cannot be right, or a
    # note asking to be called at another time.
    Disposition.WRONG_NUMBER: Needs.NOTHING,
    Disposition.CALLBACK: Needs.NOTHING,
}


def check_disposition(disposition: str, facts: CallFacts) -> None:
    """ValidationError unless the call has come far enough for `disposition`."""
    needs = DISPOSITION_NEEDS[disposition]
    if needs == Needs.DIALLED and not facts.dialled:
        raise ValidationError(_("Dial the customer first, or give the contact back."))
    if needs == Needs.CONNECTED and not facts.dialled:
        raise ValidationError(_("Dial the customer first, or give the contact back."))
    if needs == Needs.CONNECTED and not facts.connected:
        raise ValidationError(
            _(
                "The customer has not been on the line: record the call as not answered, "
                "busy or a wrong number, or set a callback."
            )
        )


def table_rows() -> list[dict]:
    """The transitions as rows, for the documentation and the tests."""
    return [
        {
            "event": rule.event.value,
            "from": sorted(state.value for state in rule.sources),
            "to": rule.target.value,
            "keeps": sorted(state.value for state in rule.keeps),
            "holding": rule.target_holding.value if rule.target_holding else "",
            "pause_asked": rule.target_pause_asked.value if rule.target_pause_asked else "",
            "effects": rule.effects,
        }
        for rule in TRANSITIONS.values()
    ]
