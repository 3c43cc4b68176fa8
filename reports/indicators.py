"""The branch's satisfaction index over time: per month (or quarter), brand, region and kind
of campaign, the index and each indicator of the tree, with its base and 95% confidence
interval, the change since the previous period and the same period a year before, the lead
over the strongest competitor and the weak items (短板).

The definitions are those of the per-campaign index (reports/index.py): an item's score is
its top-two-box share; within a brand (segment) an indicator's score is the mean of the
shares of the level-three items under it (an item is the pool of the questions that count
as it, from any questionnaire version); the brands are weighted as the administrator set
(SegmentWeight), over the brands that have a score. Interviews of a brand no segment names
are left out of the weighted figures; when no interview names a weighted brand at all, the
figures are the unweighted pool of everyone.

Intervals and tests use the normal approximation: an item's share p on n valid answers has
variance p(1-p)/n; a mean of K items in a brand has the sum of their variances over K² (the
items are treated as independent, which understates the variance somewhat when the same
people answer them all); a weighted figure has Σ (w/W)² × variance. The interval is the
figure ± 1.96 standard errors, and a change between two periods is tested with the
(unpooled) two-proportion z-test z = (p1 − p2) / √(var1 + var2). The base of an item is
its valid answers (don't know and refused left out), of the index the completed interviews,
of a level-one or level-two indicator the largest base of its items (the kept counts do not
say how many people answered at least one of them). A base under SMALL_BASE is flagged,
never hidden. A competitor's score over a quarter is the mean of its monthly scores.

The pages never read the interviews: they read MonthlyCount, the month's counts per item,
brand, region, kind and campaign (a few thousand rows a month), which `monthly_rebuild`
recounts for a month in one GROUP BY. A beat task rebuilds the current and previous months
every hour; the page shows when its months were built."""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy

from reports.models import (
    CompetitorScore,
    Indicator,
    IndicatorQuestion,
    MonthlyBuild,
    MonthlyCount,
    SatisfactionTarget,
    SegmentWeight,
)
from surveys.models import AnswerChoice, Choice, Response, ResponseStatus

Z95 = 1.959963984540054  # the normal quantile of 0.975
SMALL_BASE = 30
TREND_MONTHS = 24
INTERVIEWS = 0  # the indicator id of the kept interview counts
COMPLAINT_CALLBACK = "complaint_callback"

# The indicator tree installed with Waihu (reports migration 0004), translated where shown.
_INDICATOR_LABELS = (
    pgettext_lazy("indicator", "Satisfaction"),
    pgettext_lazy("indicator", "Loyalty"),
    pgettext_lazy("indicator", "Network"),
    pgettext_lazy("indicator", "Business"),
    pgettext_lazy("indicator", "Customer service"),
    pgettext_lazy("indicator", "Value for money"),
    pgettext_lazy("indicator", "Corporate image"),
)
INDICATOR_NAMES = frozenset(
    {
        "Satisfaction",
        "Loyalty",
        "Network",
        "Business",
        "Customer service",
        "Value for money",
        "Corporate image",
    }
)


def indicator_label(name: str) -> str:
    return pgettext("indicator", name) if name in INDICATOR_NAMES else name


# --- months ---------------------------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A month or a quarter (`quarter` True: the three months from `start`)."""

    start: datetime.date
    quarter: bool = False

    @classmethod
    def of(cls, day: datetime.date, quarter: bool = False) -> Period:
        start = month_start(day)
        if quarter:
            start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
        return cls(start, quarter)

    @property
    def length(self) -> int:
        return 3 if self.quarter else 1

    @property
    def months(self) -> list[datetime.date]:
        return [add_months(self.start, i) for i in range(self.length)]

    def shifted(self, n: int) -> Period:
        """The period n periods later (earlier when negative)."""
        return Period(add_months(self.start, n * self.length), self.quarter)

    @property
    def previous(self) -> Period:
        return self.shifted(-1)

    @property
    def year_before(self) -> Period:
        return Period(add_months(self.start, -12), self.quarter)

    @property
    def key(self) -> str:
        if self.quarter:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    def __str__(self) -> str:
        return self.key


# --- building the kept counts -----------------------------------------------------------------


def _month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(month, datetime.time(), tzinfo=tz)
    end = datetime.datetime.combine(add_months(month, 1), datetime.time(), tzinfo=tz)
    return start, end


def item_map() -> dict[int, tuple[int, frozenset[int]]]:
    """{question id: (level-three indicator id, ids of its top two choices)}."""
    links = list(IndicatorQuestion.objects.values_list("question_id", "indicator_id", "best_first"))
    choices: dict[int, list[int]] = defaultdict(list)
    rows = Choice.objects.filter(question_id__in=[q for q, _i, _b in links]).order_by(
        "question_id", "position", "pk"
    )
    for question_id, choice_id in rows.values_list("question_id", "pk"):
        choices[question_id].append(choice_id)
    found = {}
    for question_id, indicator_id, best_first in links:
        ordered = choices[question_id]
        top = ordered[:2] if best_first else ordered[-2:]
        found[question_id] = (indicator_id, frozenset(top))
    return found


def monthly_rebuild(month: datetime.date) -> int:
    """Recount one month's completed campaign interviews (by the moment they finished) into
    MonthlyCount; returns the number of rows kept."""
    month = month_start(month)
    start, end = _month_bounds(month)
    items = item_map()
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    done = {"status": ResponseStatus.COMPLETED, "finished_at__gte": start, "finished_at__lt": end}
    interviews = (
        Response.objects.filter(interview__isnull=False, **done)
        .order_by()
        .values(
            brand=F("interview__contact__brand"),
            region=F("interview__contact__region"),
            kind=F("interview__campaign__kind"),
            campaign=F("interview__campaign_id"),
        )
        .annotate(n=Count("id"))
    )
    for row in interviews:
        key = (INTERVIEWS, row["brand"], row["region"], row["kind"], row["campaign"])
        counts[key][0] += row["n"]
        counts[key][1] += row["n"]
    if items:
        via = "answer__response__"
        selections = (
            AnswerChoice.objects.filter(
                question_id__in=list(items),
                **{f"{via}interview__isnull": False},
                **{f"{via}{name}": value for name, value in done.items()},
            )
            .order_by()
            .values(
                "question_id",
                "choice_id",
                brand=F(f"{via}interview__contact__brand"),
                region=F(f"{via}interview__contact__region"),
                kind=F(f"{via}interview__campaign__kind"),
                campaign=F(f"{via}interview__campaign_id"),
            )
            .annotate(n=Count("id"))
        )
        for row in selections:
            indicator_id, top = items[row["question_id"]]
            key = (indicator_id, row["brand"], row["region"], row["kind"], row["campaign"])
            counts[key][1] += row["n"]
            if row["choice_id"] in top:
                counts[key][0] += row["n"]
    with transaction.atomic():
        MonthlyCount.objects.filter(month=month).delete()
        MonthlyCount.objects.bulk_create(
            [
                MonthlyCount(
                    month=month,
                    indicator_id=indicator_id,
                    brand=brand,
                    region=region,
                    kind=kind,
                    campaign_id=campaign,
                    top_two=t2b,
                    valid=valid,
                )
                for (indicator_id, brand, region, kind, campaign), (t2b, valid) in counts.items()
            ],
            batch_size=2000,
        )
        MonthlyBuild.objects.update_or_create(month=month, defaults={"built_at": timezone.now()})
    return len(counts)


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Figure:
    """A share in percent with its base and the variance of the share (as a proportion)."""

    percent: float | None
    n: int
    variance: float = 0.0

    @property
    def margin(self) -> float | None:
        if self.percent is None:
            return None
        return Z95 * math.sqrt(self.variance) * 100

    @property
    def low(self) -> float | None:
        return None if self.percent is None else max(0.0, self.percent - self.margin)

    @property
    def high(self) -> float | None:
        return None if self.percent is None else min(100.0, self.percent + self.margin)

    @property
    def small(self) -> bool:
        return self.n < SMALL_BASE


@dataclass
class Change:
    """The change of a figure since an earlier period, with its two-proportion z-test."""

    now: Figure
    then: Figure

    @property
    def points(self) -> float | None:
        if self.now.percent is None or self.then.percent is None:
            return None
        return self.now.percent - self.then.percent

    @property
    def z(self) -> float | None:
        if self.points is None:
            return None
        variance = self.now.variance + self.then.variance
        if variance <= 0:
            return None
        return self.points / 100 / math.sqrt(variance)

    @property
    def p_value(self) -> float | None:
        return None if self.z is None else math.erfc(abs(self.z) / math.sqrt(2))

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


@dataclass
class Node:
    indicator: Indicator | None  # None: the index
    leaves: list[int]
    children: list[Node] = field(default_factory=list)

    @property
    def key(self) -> int:
        return self.indicator.pk if self.indicator else INTERVIEWS


class Tree:
    """The indicator tree, with the level-three items under each node."""

    def __init__(self):
        self.indicators = list(Indicator.objects.all())
        by_parent: dict[int | None, list[Indicator]] = defaultdict(list)
        for ind in self.indicators:
            by_parent[ind.parent_id].append(ind)
        self.by_id = {ind.pk: ind for ind in self.indicators}

        def build(ind: Indicator) -> Node:
            children = [build(child) for child in by_parent[ind.pk]]
            leaves = [ind.pk] if ind.level == 3 else [x for c in children for x in c.leaves]
            return Node(ind, leaves, children)

        roots = [build(ind) for ind in by_parent[None]]
        self.index = Node(None, [x for r in roots for x in r.leaves], roots)
        self.nodes: list[Node] = []

        def walk(node: Node) -> None:
            self.nodes.append(node)
            for child in node.children:
                walk(child)

        for root in roots:
            walk(root)

    def node(self, indicator_id: int) -> Node | None:
        return next((n for n in self.nodes if n.key == indicator_id), None)


class Segments:
    """Brand → weighted segment, as reports/index.py matches them."""

    def __init__(self):
        self.weights = list(SegmentWeight.objects.all())
        self.names = {name: w for w in self.weights for name in w.names()}

    def of(self, brand: str) -> str | None:
        weight = self.names.get((brand or "").strip().casefold())
        return weight.name if weight else None

    def weight(self, name: str) -> Decimal:
        return next((w.weight for w in self.weights if w.name == name), Decimal(0))


# cells: {(indicator id, brand as kept): [top two, valid]}
Cells = dict[tuple[int, str], list[int]]


def figure(node: Node, cells: Cells, segments: Segments) -> Figure:
    """The node's figure (the index when node.indicator is None) over the cells."""
    by_segment: dict[str | None, dict[int, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    matched = False
    for (indicator_id, brand), (t2b, valid) in cells.items():
        name = segments.of(brand)
        matched = matched or (name is not None and segments.weight(name) > 0 and valid > 0)
        cell = by_segment[name][indicator_id]
        cell[0] += t2b
        cell[1] += valid
    if not matched:  # nobody names a weighted brand: the unweighted pool of everyone
        pooled: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for items in by_segment.values():
            for indicator_id, (t2b, valid) in items.items():
                pooled[indicator_id][0] += t2b
                pooled[indicator_id][1] += valid
        by_segment = {None: pooled}
        weights = {None: Decimal(1)}
    else:
        by_segment.pop(None, None)
        weights = {name: segments.weight(name) for name in by_segment}
    shares: dict[str | None, tuple[float, float]] = {}  # segment -> (share, variance)
    bases: list[int] = []
    for name, items in by_segment.items():
        leaf = [items[i] for i in node.leaves if i in items and items[i][1] > 0]
        if not leaf:
            continue
        props = [t2b / valid for t2b, valid in leaf]
        variances = [p * (1 - p) / valid for p, (_t, valid) in zip(props, leaf, strict=True)]
        shares[name] = (sum(props) / len(props), sum(variances) / len(props) ** 2)
    used = {name: Decimal(weights[name]) for name in shares if weights[name] > 0}
    total = sum(used.values(), Decimal(0))
    if node.indicator is None:
        n = sum(items.get(INTERVIEWS, [0, 0])[1] for name, items in by_segment.items())
    else:
        for i in node.leaves:
            bases.append(sum(items[i][1] for items in by_segment.values() if i in items))
        n = max(bases, default=0)
    if not total:
        return Figure(None, n)
    share = sum(float(w / total) * shares[name][0] for name, w in used.items())
    variance = sum(float(w / total) ** 2 * shares[name][1] for name, w in used.items())
    return Figure(share * 100, n, variance)


def read_cells(
    months: list[datetime.date],
    *,
    region: str = "",
    kind: str = "",
    segment: str = "",
    campaign_id: int | None = None,
    by: str = "month",
) -> dict:
    """{group value: Cells} from the kept counts of these months, `by` month or campaign."""
    rows = MonthlyCount.objects.filter(month__in=months)
    if region:
        rows = rows.filter(region=region)
    if kind:
        rows = rows.filter(kind=kind)
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    group = "month" if by == "month" else "campaign_id"
    found: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    names = Segments() if segment else None
    values = rows.order_by().values(group, "indicator_id", "brand")
    for row in values.annotate(t=Sum("top_two"), v=Sum("valid")):
        if names is not None and names.of(row["brand"]) != segment:
            continue
        cell = found[row[group]][(row["indicator_id"], row["brand"])]
        cell[0] += row["t"]
        cell[1] += row["v"]
    return found


def merge(groups: dict, keys) -> Cells:
    merged: Cells = defaultdict(lambda: [0, 0])
    for key in keys:
        for cell_key, (t2b, valid) in groups.get(key, {}).items():
            merged[cell_key][0] += t2b
            merged[cell_key][1] += valid
    return merged


def competitor_scores(months: list[datetime.date]) -> dict[int, dict[str, float]]:
    """{indicator id: {competitor: mean score over the months they were entered for}}."""
    sums: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    rows = CompetitorScore.objects.filter(month__in=months)
    for indicator_id, competitor, percent in rows.values_list(
        "indicator_id", "competitor", "percent"
    ):
        sums[indicator_id][competitor].append(float(percent))
    return {
        i: {name: sum(v) / len(v) for name, v in by_name.items()} for i, by_name in sums.items()
    }


@dataclass
class IndicatorRow:
    node: Node
    figure: Figure
    previous: Change
    year_before: Change
    competitor: str = ""
    competitor_percent: float | None = None
    target: float | None = None

    @property
    def indicator(self) -> Indicator | None:
        return self.node.indicator

    @property
    def level(self) -> int:
        return self.indicator.level if self.indicator else 0

    @property
    def lead(self) -> float | None:
        if self.figure.percent is None or self.competitor_percent is None:
            return None
        return self.figure.percent - self.competitor_percent

    @property
    def benchmark(self) -> float | None:
        found = [x for x in (self.target, self.competitor_percent) if x is not None]
        return max(found) if found else None

    @property
    def gap(self) -> float | None:
        """Points below the higher of the target and the strongest competitor (negative
        when below)."""
        if self.figure.percent is None or self.benchmark is None:
            return None
        return self.figure.percent - self.benchmark


@dataclass
class Dashboard:
    period: Period
    index: IndicatorRow
    rows: list[IndicatorRow]
    trend: list[tuple[Period, Figure, dict[int, Figure]]]
    complaint: Figure | None
    complaint_target: float | None
    built_at: datetime.datetime | None
    missing_months: list[datetime.date]

    @property
    def weak(self) -> list[IndicatorRow]:
        """The indicators below their target or the strongest competitor, furthest first."""
        below = [row for row in self.rows if row.gap is not None and row.gap < 0]
        return sorted(below, key=lambda row: (row.gap, row.level, row.node.key))

    @property
    def complaint_met(self) -> bool | None:
        if self.complaint is None or self.complaint.percent is None:
            return None
        if self.complaint_target is None:
            return None
        return self.complaint.percent >= self.complaint_target


def dashboard(
    period: Period,
    *,
    region: str = "",
    kind: str = "",
    segment: str = "",
    trend_periods: int | None = None,
) -> Dashboard:
    """Everything the leaders' page shows for a period, from one read of the kept counts."""
    tree, segments = Tree(), Segments()
    count = trend_periods or TREND_MONTHS // period.length
    periods = [period.shifted(-i) for i in range(count - 1, -1, -1)]
    wanted = {m for p in [*periods, period.previous, period.year_before] for m in p.months}
    groups = read_cells(sorted(wanted), region=region, kind=kind, segment=segment)

    def cells(p: Period) -> Cells:
        return merge(groups, p.months)

    now, before, last_year = cells(period), cells(period.previous), cells(period.year_before)
    rivals = competitor_scores(period.months)

    def row(node: Node) -> IndicatorRow:
        fig = figure(node, now, segments)
        result = IndicatorRow(
            node,
            fig,
            Change(fig, figure(node, before, segments)),
            Change(fig, figure(node, last_year, segments)),
        )
        scores = rivals.get(node.key, {}) if node.indicator else {}
        if scores:
            name = max(scores, key=lambda k: (scores[k], k))
            result.competitor, result.competitor_percent = name, scores[name]
        if node.indicator is not None and node.indicator.target is not None:
            result.target = float(node.indicator.target)
        return result

    trend = []
    for p in periods:
        c = cells(p)
        trend.append(
            (
                p,
                figure(tree.index, c, segments),
                {n.key: figure(n, c, segments) for n in tree.index.children},
            )
        )
    complaint = None
    target = SatisfactionTarget.objects.filter(kind=COMPLAINT_CALLBACK).first()
    if not kind or kind == COMPLAINT_CALLBACK:
        if kind == COMPLAINT_CALLBACK:
            complaint = figure(tree.index, now, segments)
        else:
            only = read_cells(
                period.months, region=region, kind=COMPLAINT_CALLBACK, segment=segment
            )
            complaint = figure(tree.index, merge(only, period.months), segments)
    builds = dict(
        MonthlyBuild.objects.filter(month__in=period.months).values_list("month", "built_at")
    )
    return Dashboard(
        period=period,
        index=row(tree.index),
        rows=[row(node) for node in tree.nodes],
        trend=trend,
        complaint=complaint,
        complaint_target=float(target.percent) if target else None,
        built_at=min(builds.values()) if len(builds) == period.length else None,
        missing_months=[m for m in period.months if m not in builds],
    )


@dataclass
class CampaignRow:
    campaign_id: int
    figure: Figure
    campaign: object = None
    questions: list = field(default_factory=list)


def campaigns_of(
    node: Node, period: Period, *, region: str = "", kind: str = "", segment: str = ""
) -> list[CampaignRow]:
    """The node's figure per campaign in the period, largest base first, with the questions
    of each campaign's questionnaire that count toward it."""
    from outbound.models import WorkOrder
    from surveys.models import Question

    segments = Segments()
    groups = read_cells(period.months, region=region, kind=kind, segment=segment, by="campaign")
    rows = []
    for campaign_id, cells in groups.items():
        fig = figure(node, cells, segments)
        if fig.percent is not None:
            rows.append(CampaignRow(campaign_id, fig))
    orders = WorkOrder.objects.in_bulk([r.campaign_id for r in rows])
    links = IndicatorQuestion.objects.filter(indicator_id__in=node.leaves)
    questions = Question.objects.filter(pk__in=links.values("question_id")).select_related(
        "version"
    )
    for r in rows:
        r.campaign = orders.get(r.campaign_id)
        version_id = getattr(r.campaign, "questionnaire_id", None)
        r.questions = [q for q in questions if q.version_id == version_id]
    rows.sort(key=lambda r: (-r.figure.n, r.campaign_id))
    return rows


@dataclass
class QuestionRow:
    question: object
    top_two: int
    valid: int

    @property
    def percent(self) -> float | None:
        return self.top_two / self.valid * 100 if self.valid else None


def question_table(node: Node, period: Period, campaign_id: int) -> list[QuestionRow]:
    """The top-two share of each question counting toward the node in one campaign's
    interviews of the period (read from the interviews: one campaign, a few questions)."""
    from surveys.models import Question

    items = item_map()
    ids = [q for q, (indicator_id, _top) in items.items() if indicator_id in node.leaves]
    start, _end = _month_bounds(period.start)
    _start, end = _month_bounds(period.months[-1])
    via = "answer__response__"
    rows = (
        AnswerChoice.objects.filter(
            question_id__in=ids,
            **{
                f"{via}interview__campaign_id": campaign_id,
                f"{via}status": ResponseStatus.COMPLETED,
                f"{via}finished_at__gte": start,
                f"{via}finished_at__lt": end,
            },
        )
        .order_by()
        .values("question_id", "choice_id")
        .annotate(n=Count("id"))
    )
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        cell = counts[row["question_id"]]
        cell[1] += row["n"]
        if row["choice_id"] in items[row["question_id"]][1]:
            cell[0] += row["n"]
    questions = Question.objects.filter(pk__in=list(counts)).order_by("version_id", "position")
    return [QuestionRow(q, *counts[q.pk]) for q in questions]
