"""A campaign's call outcomes: where every contact ended up, the response, cooperation,
refusal and contact rates of AAPOR's Standard Definitions, and the calling work by day, by
hour and by agent. Every figure comes from aggregate queries, a fixed number per campaign.

How our final dispositions map to AAPOR's codes
-----------------------------------------------
Each contact counts once, by its last state: the disposition of its latest interview if
one was recorded, else its dialing state and the outcome of its last attempt.

=====================================  =====  ===============================================
our final disposition                  code   why
=====================================  =====  ===============================================
interview completed                    I      1.1 complete
interview partial (dropped, not done)  P      1.2 partial
refused                                R      2.11 refusal
asked not to be called again           R      2.11 refusal: a do-not-call request refuses
callback promised, never completed     NC     2.21 respondent never available
no answer after the last attempt       NC     2.20 non-contact (see below)
busy after the last attempt            NC     2.20 non-contact (see below)
answering machine                      NC     2.22 answering machine
answered, nothing recorded             UO     3.21 reached, eligibility not established
technical failure, call lost           UH     3.16 technical problems
not called yet                         UH     3.11 not attempted
not eligible (screened out)            NE     4.70 no eligible respondent
wrong number                           NE     4.x the listed customer is not at this number
invalid number                         NE     4.30 non-working number
excluded before any call               —      not released: removed from the sample
=====================================  =====  ===============================================

Two decisions differ from AAPOR's telephone tables, which are written for random-digit
samples. Our lists hold the operator's own customers, whose numbers are in service: a
number that rings, is busy or reaches voicemail belongs to an eligible person, so those
cases are non-contacts (NC), not unknown eligibility (UH). And a customer who is screened
out is not eligible (4.70); such cases leave the denominators, like wrong and invalid
numbers, and O ("other eligible non-interview") stays empty: none of our dispositions
means an eligible person who could not take part for another reason. Contacts taken off
the list before any call (do-not-call, red list) were never released and count in no rate.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, ExtractHour, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbound.models import CallAttempt, Contact, DialState, Interview, Outcome, WorkOrder

Disposition = Interview.Disposition

# AAPOR's categories; NE is "not eligible" (4.x), NR "not released".
I, P, R, NC, O, UH, UO, NE, NR = "I", "P", "R", "NC", "O", "UH", "UO", "NE", "NR"  # noqa: E741

# Our final dispositions, in the order the table shows them: (key, label, code, AAPOR).
FINALS: list[tuple[str, object, str, str]] = [
    ("completed", _("Interview completed"), I, "1.1"),
    ("partial", _("Partial interview"), P, "1.2"),
    ("refused", _("Refused"), R, "2.11"),
    ("do_not_call", _("Asked not to be called again"), R, "2.11"),
    ("callback", _("Callback promised, not completed"), NC, "2.21"),
    ("no_answer", _("No answer after the last attempt"), NC, "2.20"),
    ("busy", _("Busy after the last attempt"), NC, "2.20"),
    ("machine", _("Answering machine"), NC, "2.22"),
    ("answered", _("Answered, nothing recorded"), UO, "3.21"),
    ("failed", _("Technical failure or call lost"), UH, "3.16"),
    ("not_called", _("Not called yet"), UH, "3.11"),
    ("not_eligible", _("Not eligible (screened out)"), NE, "4.70"),
    ("wrong_number", _("Wrong number"), NE, "4.x"),
    ("invalid", _("Invalid number"), NE, "4.30"),
    ("excluded", _("Excluded before any call"), NR, "—"),
]
CODE_OF = {key: code for key, _label, code, _aapor in FINALS}

CATEGORY_LABELS = {
    I: _("Complete interviews"),
    P: _("Partial interviews"),
    R: _("Refusals and break-offs"),
    NC: _("Non-contacts"),
    O: _("Other eligible non-interviews"),
    UH: _("Unknown if reachable"),
    UO: _("Unknown, other"),
    NE: _("Not eligible"),
    NR: _("Not released"),
}

_OUTCOME_FINAL = {
    Outcome.NO_ANSWER: "no_answer",
    Outcome.BUSY: "busy",
    Outcome.MACHINE: "machine",
    Outcome.INVALID: "invalid",
    Outcome.ANSWERED: "answered",
    Outcome.FAILED: "failed",
    Outcome.CANCELED: "failed",
    Outcome.LOST: "failed",
}


def final_disposition(
    *, disposition: str | None, status: str | None, last_outcome: str | None, attempts: int
) -> str:
    """A contact's final disposition (a key of FINALS) from its latest interview's
    disposition and its dialing state; pure, so the mapping is tested row by row."""
    if disposition:
        return disposition  # The interview dispositions are keys of FINALS.
    if status is None or (attempts or 0) == 0:
        if status == DialState.Status.INVALID:
            return "invalid"
        return "excluded" if status == DialState.Status.EXCLUDED else "not_called"
    if status == DialState.Status.INVALID:
        return "invalid"
    if status == DialState.Status.EXCLUDED:
        # Taken off the list after calls began: only a customer's own wish does that.
        return "do_not_call"
    if status == DialState.Status.REACHED:
        return "answered"
    return _OUTCOME_FINAL.get(last_outcome or "", "failed")


# --- the rates (AAPOR Standard Definitions) -------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Cases per AAPOR category."""

    I: int = 0  # noqa: E741 (AAPOR's own letter)
    P: int = 0
    R: int = 0
    NC: int = 0
    O: int = 0  # noqa: E741
    UH: int = 0
    UO: int = 0

    @property
    def denominator(self) -> int:
        """(I+P) + (R+NC+O) + (UH+UO): every case of known or unknown eligibility."""
        return (self.I + self.P) + (self.R + self.NC + self.O) + (self.UH + self.UO)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rr1(c: Counts) -> float | None:
    """Response rate 1: I / ((I+P) + (R+NC+O) + (UH+UO))."""
    return _ratio(c.I, c.denominator)


def rr2(c: Counts) -> float | None:
    """Response rate 2, partials counted: (I+P) / ((I+P) + (R+NC+O) + (UH+UO))."""
    return _ratio(c.I + c.P, c.denominator)


def coop1(c: Counts) -> float | None:
    """Cooperation rate 1: I / ((I+P) + R + O)."""
    return _ratio(c.I, c.I + c.P + c.R + c.O)


def ref1(c: Counts) -> float | None:
    """Refusal rate 1: R / ((I+P) + (R+NC+O) + (UH+UO))."""
    return _ratio(c.R, c.denominator)


def con1(c: Counts) -> float | None:
    """Contact rate 1: ((I+P) + R + O) / ((I+P) + (R+NC+O) + (UH+UO))."""
    return _ratio(c.I + c.P + c.R + c.O, c.denominator)


RATES = [
    ("RR1", _("Response rate 1"), "I / ((I+P) + (R+NC+O) + (UH+UO))", rr1),
    ("RR2", _("Response rate 2"), "(I+P) / ((I+P) + (R+NC+O) + (UH+UO))", rr2),
    ("COOP1", _("Cooperation rate 1"), "I / ((I+P) + R + O)", coop1),
    ("REF1", _("Refusal rate 1"), "R / ((I+P) + (R+NC+O) + (UH+UO))", ref1),
    ("CON1", _("Contact rate 1"), "((I+P) + R + O) / ((I+P) + (R+NC+O) + (UH+UO))", con1),
]


def counts_of(finals: dict[str, int]) -> Counts:
    per_code: dict[str, int] = defaultdict(int)
    for key, n in finals.items():
        per_code[CODE_OF.get(key, UH)] += n
    return Counts(**{code: per_code[code] for code in (I, P, R, NC, O, UH, UO)})


# --- the figures ----------------------------------------------------------------------


@dataclass
class FinalRow:
    key: str
    label: str
    code: str
    aapor: str
    count: int


@dataclass
class Rate:
    name: str
    label: str
    formula: str
    value: float | None

    @property
    def percent(self) -> float | None:
        return None if self.value is None else 100 * self.value


@dataclass
class Period:
    """Calling activity in one day or one hour of the day."""

    key: object
    attempts: int = 0
    reached: int = 0
    completes: int = 0


@dataclass
class AgentRow:
    agent_id: int
    name: str
    interviews: int = 0
    completes: int = 0
    hours: float = 0.0
    average_length: datetime.timedelta | None = None

    @property
    def completes_per_hour(self) -> float | None:
        return self.completes / self.hours if self.hours else None

    @property
    def average_minutes(self) -> float | None:
        if self.average_length is None:
            return None
        return self.average_length.total_seconds() / 60


@dataclass
class CampaignOutcomes:
    campaign: WorkOrder
    finals: list[FinalRow]
    counts: Counts
    not_eligible: int
    not_released: int
    rates: list[Rate]
    attempts: int
    contacts_attempted: int
    reached: int
    by_day: list[Period] = field(default_factory=list)
    by_hour: list[Period] = field(default_factory=list)
    by_agent: list[AgentRow] = field(default_factory=list)

    def final(self, key: str) -> int:
        return next((row.count for row in self.finals if row.key == key), 0)

    @property
    def contacts(self) -> int:
        return sum(row.count for row in self.finals)

    @property
    def completed(self) -> int:
        return self.final("completed")

    @property
    def partial(self) -> int:
        return self.final("partial")

    @property
    def refused(self) -> int:
        return self.final("refused")

    @property
    def do_not_call(self) -> int:
        return self.final("do_not_call")

    @property
    def no_answer(self) -> int:
        return self.final("no_answer")

    @property
    def busy(self) -> int:
        return self.final("busy")

    @property
    def invalid(self) -> int:
        return self.final("wrong_number") + self.final("invalid")

    @property
    def attempts_per_complete(self) -> float | None:
        return _ratio(self.attempts, self.completed)

    def rate(self, name: str) -> float | None:
        return next((r.value for r in self.rates if r.name == name), None)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _within(field_name: str, date_from, date_to) -> Q:
    q = Q()
    if date_from:
        q &= Q(**{f"{field_name}__gte": _day_start(date_from)})
    if date_to:
        q &= Q(**{f"{field_name}__lt": _day_start(date_to + datetime.timedelta(days=1))})
    return q


def final_counts(*, campaign: WorkOrder) -> dict[str, int]:
    """{final disposition: contacts}, in one GROUP BY over the campaign's contacts."""
    latest = (
        Interview.objects.filter(contact=OuterRef("pk"))
        .exclude(disposition="")
        .order_by("-started_at", "-id")
        .values("disposition")[:1]
    )
    rows = (
        Contact.objects.filter(campaign=campaign)
        .annotate(final=Subquery(latest))
        .values("final", "dial_state__status", "dial_state__last_outcome", "dial_state__attempts")
        .annotate(n=Count("pk"))
        .order_by()
    )
    finals: dict[str, int] = defaultdict(int)
    for row in rows:
        key = final_disposition(
            disposition=row["final"],
            status=row["dial_state__status"],
            last_outcome=row["dial_state__last_outcome"],
            attempts=row["dial_state__attempts"] or 0,
        )
        finals[key] += row["n"]
    return dict(finals)


def _agent_name(row: dict, prefix: str) -> str:
    full = f"{row[prefix + 'first_name']} {row[prefix + 'last_name']}".strip()
    return row[prefix + "display_name"] or full or row[prefix + "username"]


def campaign_outcomes(
    *,
    campaign: WorkOrder,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    agent=None,
) -> CampaignOutcomes:
    """The campaign's outcome figures. The final dispositions and the rates describe the
    whole sample as it stands; the dates and the agent narrow the calling activity (the
    attempts, the tables by day, hour and agent)."""
    finals = final_counts(campaign=campaign)
    counts = counts_of(finals)
    rows = [
        FinalRow(key=key, label=str(label), code=code, aapor=aapor, count=finals.get(key, 0))
        for key, label, code, aapor in FINALS
    ]

    # An attempt whose call never reached the carrier was no call at all.
    attempts = (
        CallAttempt.objects.filter(campaign=campaign)
        .exclude(outcome=Outcome.NOT_PLACED)
        .filter(_within("created_at", date_from, date_to))
    )
    interviews = Interview.objects.filter(campaign=campaign)
    if agent is not None:
        attempts = attempts.filter(interviews__agent=agent)
        interviews = interviews.filter(agent=agent)
    answered = Q(outcome=Outcome.ANSWERED)
    totals = attempts.aggregate(
        attempts=Count("pk", distinct=True),
        contacts=Count("contact", distinct=True),
        reached=Count("contact", distinct=True, filter=answered),
    )
    completes = interviews.filter(disposition=Disposition.COMPLETED).filter(
        _within("closed_at", date_from, date_to)
    )

    outcomes = CampaignOutcomes(
        campaign=campaign,
        finals=rows,
        counts=counts,
        not_eligible=sum(n for key, n in finals.items() if CODE_OF.get(key) == NE),
        not_released=sum(n for key, n in finals.items() if CODE_OF.get(key) == NR),
        rates=[
            Rate(name=name, label=str(label), formula=formula, value=function(counts))
            for name, label, formula, function in RATES
        ],
        attempts=totals["attempts"],
        contacts_attempted=totals["contacts"],
        reached=totals["reached"],
    )
    outcomes.by_day = _periods(attempts, completes, TruncDate)
    outcomes.by_hour = _periods(attempts, completes, ExtractHour)
    outcomes.by_agent = _agents(interviews.filter(_within("started_at", date_from, date_to)))
    return outcomes


def _periods(attempts: QuerySet, completes: QuerySet, bucket) -> list[Period]:
    """Attempts, answered attempts and completes per bucket (a day or an hour of the day,
    in the current time zone): one query for the attempts, one for the completes."""
    periods: dict[object, Period] = {}
    for row in (
        attempts.annotate(slot=bucket("created_at"))
        .values("slot")
        .annotate(
            n=Count("pk", distinct=True),
            reached=Count("pk", distinct=True, filter=Q(outcome=Outcome.ANSWERED)),
        )
        .order_by()
    ):
        periods[row["slot"]] = Period(key=row["slot"], attempts=row["n"], reached=row["reached"])
    for row in (
        completes.annotate(slot=bucket("closed_at"))
        .values("slot")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        periods.setdefault(row["slot"], Period(key=row["slot"])).completes = row["n"]
    return [periods[key] for key in sorted(periods)]


def _agents(interviews: QuerySet) -> list[AgentRow]:
    """Per agent: interviews closed, completes, hours of work and the average length of a
    completed interview. Hours of work are, for each day the agent worked, the span from
    the start of their first interview to the end of their last, summed over the days."""
    names = ("agent__username", "agent__display_name", "agent__first_name", "agent__last_name")
    length = ExpressionWrapper(
        F("response__finished_at") - F("response__started_at"), output_field=DurationField()
    )
    agents: dict[int, AgentRow] = {}
    for row in (
        interviews.filter(agent__isnull=False)
        .values("agent_id", *names)
        .annotate(
            interviews=Count("pk", filter=Q(closed_at__isnull=False)),
            completes=Count("pk", filter=Q(disposition=Disposition.COMPLETED)),
            average=Avg(length, filter=Q(disposition=Disposition.COMPLETED)),
        )
        .order_by()
    ):
        agents[row["agent_id"]] = AgentRow(
            agent_id=row["agent_id"],
            name=_agent_name(row, "agent__"),
            interviews=row["interviews"],
            completes=row["completes"],
            average_length=row["average"],
        )
    spans = (
        interviews.filter(agent__isnull=False)
        .annotate(day=TruncDate("started_at"))
        .values("agent_id", "day")
        .annotate(first=Min("started_at"), last=Max(Coalesce("closed_at", "started_at")))
        .order_by()
    )
    for row in spans:
        if row["agent_id"] in agents and row["first"] and row["last"]:
            seconds = max((row["last"] - row["first"]).total_seconds(), 0.0)
            agents[row["agent_id"]].hours += seconds / 3600
    return sorted(agents.values(), key=lambda a: (-a.completes, a.name))
