"""The satisfaction index over time, from hand-made interviews: the kept monthly counts,
the brand-weighted index and indicators with their 95% intervals, the changes and their
two-proportion z-tests, the leads over the strongest competitor and the weak items, each
compared with figures worked out here independently (scipy for the normal quantiles)."""

import datetime
import math
from decimal import Decimal

import pytest
from scipy import stats

from outbound.models import WorkOrder
from reports import indicators
from reports.indicators import Period
from reports.models import CompetitorScore, Indicator, MonthlyBuild, MonthlyCount
from tests.factories import Org
from tests.reports import indicator_data as data

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2025, 3, 1)
FEB = datetime.date(2025, 2, 1)
MARCH_BEFORE = datetime.date(2024, 3, 1)
WEIGHTS = {"Easyown": 50, "GoTone": 25}
# Top two per item: S1 and S2 are written best first (codes 1, 2); S3 runs from worst to
# best (codes 4, 5).
TOP = {"S1": {1, 2}, "S2": {1, 2}, "S3": {4, 5}}
LEAVES = {"coverage": "S1", "hall": "S2", "hotline": "S3"}
# (brand, region, month, answers, count, kind)
SAT, CC = WorkOrder.Kind.SATISFACTION, WorkOrder.Kind.COMPLAINT_CALLBACK
ROWS = [
    ("神州行", "Changsha", MARCH, {"S1": 1, "S2": 2, "S3": 5}, 20, SAT),
    ("Easyown", "Changsha", MARCH, {"S1": 1, "S2": 3, "S3": 1}, 10, SAT),
    ("Easyown", "Zhuzhou", MARCH, {"S1": 4, "S2": 3, "S3": None}, 10, CC),
    ("GoTone", "Zhuzhou", MARCH, {"S1": 2, "S2": 1, "S3": 4}, 8, CC),
    ("全球通", "Changsha", MARCH, {"S1": 5, "S2": 5, "S3": 2}, 12, SAT),
    ("Unknown brand", "Changsha", MARCH, {"S1": 1, "S2": 1, "S3": 5}, 5, SAT),
    ("Easyown", "Changsha", FEB, {"S1": 1, "S2": 1, "S3": 5}, 10, SAT),
    ("Easyown", "Changsha", FEB, {"S1": 3, "S2": 3, "S3": 3}, 20, SAT),
    ("GoTone", "Changsha", FEB, {"S1": 1, "S2": 1, "S3": 1}, 10, SAT),
    ("Easyown", "Changsha", MARCH_BEFORE, {"S1": 1, "S2": 1, "S3": 4}, 30, SAT),
]
SEGMENT = {"神州行": "Easyown", "Easyown": "Easyown", "GoTone": "GoTone", "全球通": "GoTone"}


@pytest.fixture
def world(db):
    org = Org()
    version = data.questionnaire()
    q = {question.code: question for question in version.questions.all()}
    data.leaf("coverage", "network", q["S1"])
    data.leaf("hall", "business", q["S2"], target=Decimal("90"))
    data.leaf("hotline", "customer-service", q["S3"], best_first=False)
    orders = {
        SAT: data.campaign(org.requester, version, SAT),
        CC: data.campaign(org.requester, version, CC),
    }
    for brand, region, month, answers, count, kind in ROWS:
        data.interviews(
            orders[kind], [(brand, region, data.moment(month.replace(day=15)), answers, count)]
        )
    for month in (MARCH, FEB, MARCH_BEFORE):
        indicators.monthly_rebuild(month)
    return org, orders, q


# --- the figures worked out by hand --------------------------------------------------------


def _item(months, leaf, brand_filter=None, region=None, kind=None):
    """{segment: (top two, valid)} of one item over the rows."""
    code = LEAVES[leaf]
    found = {}
    for brand, row_region, month, answers, count, row_kind in ROWS:
        segment = SEGMENT.get(brand)
        if month not in months or segment is None:
            continue
        if (region and row_region != region) or (kind and row_kind != kind):
            continue
        if brand_filter and segment != brand_filter:
            continue
        t, v = found.get(segment, (0, 0))
        picked = answers[code]
        found[segment] = (t + count * (picked in TOP[code]), v + count * (picked is not None))
    return found


def _expected(months, leaves, **filters):
    """(percent, half-width of the 95% interval, variance) of the brand-weighted mean of
    the items' top-two shares."""
    per_segment = {}
    for leaf in leaves:
        for segment, (t, v) in _item(months, leaf, **filters).items():
            if v:
                per_segment.setdefault(segment, []).append((t / v, v))
    weights = {s: WEIGHTS[s] for s in per_segment}
    total = sum(weights.values())
    share = sum(
        weights[s] / total * sum(p for p, _ in items) / len(items)
        for s, items in per_segment.items()
    )
    variance = sum(
        (weights[s] / total) ** 2 * sum(p * (1 - p) / v for p, v in items) / len(items) ** 2
        for s, items in per_segment.items()
    )
    return share * 100, stats.norm.ppf(0.975) * math.sqrt(variance) * 100, variance


def _rows(board):
    return {row.indicator.code: row for row in board.rows}


def test_monthly_counts_are_kept_per_item_brand_region_kind_and_campaign(world):
    _org, orders, _q = world
    hotline = Indicator.objects.get(code="hotline").pk
    kept = MonthlyCount.objects.filter(month=MARCH, indicator_id=hotline, region="Changsha")
    # The reversed scale counts codes 4 and 5; brands are kept as the contacts spell them.
    assert sorted(kept.values_list("brand", "top_two", "valid", "kind", "campaign_id")) == [
        ("Easyown", 0, 10, SAT, orders[SAT].pk),
        ("Unknown brand", 5, 5, SAT, orders[SAT].pk),
        ("全球通", 0, 12, SAT, orders[SAT].pk),
        ("神州行", 20, 20, SAT, orders[SAT].pk),
    ]
    # Don't know is not a valid answer: the Zhuzhou Easyown interviews gave no hotline row.
    assert not MonthlyCount.objects.filter(
        month=MARCH, indicator_id=hotline, region="Zhuzhou", brand="Easyown"
    ).exists()
    interviews = MonthlyCount.objects.filter(month=MARCH, indicator_id=0)
    assert sum(interviews.values_list("valid", flat=True)) == 65
    assert set(MonthlyBuild.objects.values_list("month", flat=True)) == {MARCH, FEB, MARCH_BEFORE}
    # A rebuild recounts, it does not add.
    before = sorted(
        MonthlyCount.objects.filter(month=MARCH).values_list(
            "indicator_id", "brand", "top_two", "valid"
        )
    )
    indicators.monthly_rebuild(MARCH)
    assert (
        sorted(
            MonthlyCount.objects.filter(month=MARCH).values_list(
                "indicator_id", "brand", "top_two", "valid"
            )
        )
        == before
    )


def test_index_and_indicators_with_intervals(world):
    board = indicators.dashboard(Period(MARCH))
    share, half, _v = _expected([MARCH], list(LEAVES))
    assert board.index.figure.percent == pytest.approx(share)
    assert board.index.figure.margin == pytest.approx(half)
    assert board.index.figure.low == pytest.approx(share - half)
    # The interviews of weighted brands only (the unknown brand's five are left out).
    assert board.index.figure.n == 60
    rows = _rows(board)
    for code in LEAVES:
        share, half, _v = _expected([MARCH], [code])
        assert rows[code].figure.percent == pytest.approx(share), code
        assert rows[code].figure.margin == pytest.approx(half), code
    # A level-two indicator is its item's figure here; level one the mean of its items.
    assert rows["network"].figure.percent == pytest.approx(rows["coverage"].figure.percent)
    share, half, _v = _expected([MARCH], list(LEAVES))
    assert rows["satisfaction"].figure.percent == pytest.approx(share)
    # Valid answers: the 10 don't-knows are not in the base; every base here is flagged
    # or not by the 30 rule.
    assert rows["hotline"].figure.n == 50 and not rows["hotline"].figure.small
    assert rows["loyalty"].figure.percent is None


def test_filters_segment_region_kind_and_quarter(world):
    board = indicators.dashboard(Period(MARCH), segment="GoTone")
    share, half, _v = _expected([MARCH], ["coverage"], brand_filter="GoTone")
    coverage = _rows(board)["coverage"]
    assert coverage.figure.percent == pytest.approx(share)
    assert coverage.figure.margin == pytest.approx(half)
    assert coverage.figure.n == 20 and coverage.figure.small
    board = indicators.dashboard(Period(MARCH), region="Zhuzhou", kind=CC)
    share, _half, _v = _expected([MARCH], list(LEAVES), region="Zhuzhou", kind=CC)
    assert board.index.figure.percent == pytest.approx(share)
    quarter = indicators.dashboard(Period.of(MARCH, quarter=True))
    share, half, _v = _expected([datetime.date(2025, m, 1) for m in (1, 2, 3)], list(LEAVES))
    assert quarter.period.key == "2025-Q1"
    assert quarter.index.figure.percent == pytest.approx(share)
    assert quarter.index.figure.margin == pytest.approx(half)


def test_changes_and_their_z_tests(world):
    rows = _rows(indicators.dashboard(Period(MARCH)))
    for code, then in (("coverage", FEB), ("hall", FEB), ("coverage", MARCH_BEFORE)):
        now_share, _h, now_var = _expected([MARCH], [code])
        then_share, _h, then_var = _expected([then], [code])
        z = (now_share - then_share) / 100 / math.sqrt(now_var + then_var)
        p = 2 * stats.norm.sf(abs(z))
        change = rows[code].previous if then == FEB else rows[code].year_before
        assert change.points == pytest.approx(now_share - then_share)
        assert change.z == pytest.approx(z)
        assert change.p_value == pytest.approx(p)
        assert change.significant == (p < 0.05)
    # With one brand on both sides it is the textbook unpooled two-proportion test.
    board = indicators.dashboard(Period(MARCH), segment="Easyown")
    coverage = _rows(board)["coverage"].year_before
    x1, n1 = 30, 40
    x2, n2 = 30, 30
    p1, p2 = x1 / n1, x2 / n2
    z = (p1 - p2) / math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    assert coverage.z == pytest.approx(z)
    assert coverage.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_leads_and_weak_items(world):
    coverage = Indicator.objects.get(code="coverage")
    hotline = Indicator.objects.get(code="hotline")
    CompetitorScore.objects.create(
        indicator=coverage, competitor="Unicom", month=MARCH, percent=Decimal("70")
    )
    CompetitorScore.objects.create(
        indicator=coverage, competitor="Telecom", month=MARCH.replace(day=20), percent=Decimal("85")
    )
    CompetitorScore.objects.create(
        indicator=hotline, competitor="Unicom", month=MARCH, percent=Decimal("10")
    )
    CompetitorScore.objects.create(
        indicator=hotline, competitor="Unicom", month=FEB, percent=Decimal("99")
    )
    board = indicators.dashboard(Period(MARCH))
    rows = _rows(board)
    coverage_share, _h, _v = _expected([MARCH], ["coverage"])
    hall_share, _h, _v = _expected([MARCH], ["hall"])
    hotline_share, _h, _v = _expected([MARCH], ["hotline"])
    assert rows["coverage"].competitor == "Telecom"
    assert rows["coverage"].lead == pytest.approx(coverage_share - 85)
    assert rows["hotline"].lead == pytest.approx(hotline_share - 10)
    assert rows["hall"].lead is None
    expected = sorted(
        [
            (coverage_share - 85, "coverage"),
            (hall_share - 90, "hall"),
            (hotline_share - 10, "hotline"),
        ]
    )
    assert [(pytest.approx(g), c) for g, c in expected if g < 0] == [
        (row.gap, row.indicator.code) for row in board.weak
    ]
    assert board.weak, "the hand-made data has items below their benchmark"


def test_complaint_callbacks_against_their_target(world):
    board = indicators.dashboard(Period(MARCH))
    share, _h, _v = _expected([MARCH], list(LEAVES), kind=CC)
    assert board.complaint.percent == pytest.approx(share)
    assert board.complaint_target == 78
    assert board.complaint_met == (share >= 78)


def test_trend_has_every_month_and_missing_builds_are_told(world):
    board = indicators.dashboard(Period(MARCH))
    assert len(board.trend) == indicators.TREND_MONTHS
    by_key = {p.key: fig for p, fig, _levels in board.trend}
    share, _h, _v = _expected([FEB], list(LEAVES))
    assert by_key["2025-02"].percent == pytest.approx(share)
    assert by_key["2025-01"].percent is None
    assert board.built_at is not None and board.missing_months == []
    assert indicators.dashboard(Period(datetime.date(2025, 4, 1))).missing_months == [
        datetime.date(2025, 4, 1)
    ]


def test_campaign_drill_down(world):
    _org, orders, q = world
    tree = indicators.Tree()
    node = tree.node(Indicator.objects.get(code="coverage").pk)
    rows = indicators.campaigns_of(node, Period(MARCH))
    assert {r.campaign_id for r in rows} == {orders[SAT].pk, orders[CC].pk}
    by_id = {r.campaign_id: r for r in rows}
    share, _h, _v = _expected([MARCH], ["coverage"], kind=CC)
    assert by_id[orders[CC].pk].figure.percent == pytest.approx(share)
    assert by_id[orders[CC].pk].questions == [q["S1"]]


def test_without_weighted_brands_the_index_is_the_unweighted_pool(world):
    from reports.models import SegmentWeight

    SegmentWeight.objects.all().delete()
    board = indicators.dashboard(Period(MARCH))
    shares, variances = [], []
    for code in LEAVES:
        t = v = 0
        for _brand, _region, month, answers, count, _kind in ROWS:
            picked = answers[LEAVES[code]]
            if month == MARCH and picked is not None:
                t += count * (picked in TOP[LEAVES[code]])
                v += count
        shares.append(t / v)
        variances.append(t / v * (1 - t / v) / v)
    share = sum(shares) / 3
    half = stats.norm.ppf(0.975) * math.sqrt(sum(variances) / 9) * 100
    assert board.index.figure.percent == pytest.approx(share * 100)
    assert board.index.figure.margin == pytest.approx(half)
    assert board.index.figure.n == 65


def test_the_beat_task_recounts_this_month_and_the_last(world):
    import time_machine

    from reports.tasks import monthly_counts_task

    MonthlyCount.objects.all().delete()
    MonthlyBuild.objects.all().delete()
    with time_machine.travel(datetime.datetime(2025, 4, 3, 4, tzinfo=datetime.UTC), tick=False):
        monthly_counts_task.apply().get()
    assert set(MonthlyBuild.objects.values_list("month", flat=True)) == {
        MARCH,
        datetime.date(2025, 4, 1),
    }
    assert MonthlyCount.objects.filter(month=MARCH, indicator_id=0).exists()


def test_the_tree_refuses_a_wrong_level_or_question(world):
    from django.core.exceptions import ValidationError

    from reports.models import IndicatorQuestion
    from surveys import services
    from surveys.models import QuestionType

    network = Indicator.objects.get(code="network")
    with pytest.raises(ValidationError, match="one level up"):
        Indicator(code="x", name="X", level=3, parent=Indicator.objects.get(code="loyalty")).clean()
    version = data.questionnaire(name="Other", scales=0)
    single = services.question_add(version=version, type=QuestionType.SINGLE, text="Brand?")
    with pytest.raises(ValidationError, match="rating scale"):
        IndicatorQuestion(indicator=Indicator.objects.get(code="coverage"), question=single).clean()
    with pytest.raises(ValidationError, match="level-three"):
        IndicatorQuestion(indicator=network, question=single).clean()


def test_the_recount_command_fills_older_months(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    MonthlyCount.objects.all().delete()
    MonthlyBuild.objects.all().delete()
    out = StringIO()
    call_command("index_recount", "--from", "2024-03", "--to", "2025-03", stdout=out)
    assert "Recounted 2024-03 to 2025-03" in out.getvalue()
    assert MonthlyBuild.objects.count() == 13
    share, _h, _v = _expected([MARCH_BEFORE], list(LEAVES))
    board = indicators.dashboard(Period(MARCH))
    assert board.index.year_before.then.percent == pytest.approx(share)
    with pytest.raises(CommandError, match="2025-03"):
        call_command("index_recount", "--from", "March")
    with pytest.raises(CommandError, match="after"):
        call_command("index_recount", "--from", "2025-03", "--to", "2025-01")
