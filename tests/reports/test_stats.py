"""The statistics against values worked out by hand and against scipy."""

import math
import statistics
from decimal import Decimal

import pytest
from scipy.stats import chi2_contingency

from reports import stats


def test_percent_of_nothing_is_none():
    assert stats.percent(0, 0) is None
    assert stats.percent(1, 3) == pytest.approx(33.333333333333336, abs=0)


def test_summary_matches_the_expanded_list():
    distribution = [(Decimal("1"), 3), (Decimal("2.5"), 2), (Decimal("10"), 1), (Decimal(4), 0)]
    flat = [1, 1, 1, 2.5, 2.5, 10]
    s = stats.summarize(distribution)
    assert s.n == 6
    assert s.mean == pytest.approx(statistics.mean(flat), rel=1e-15)
    assert s.sd == pytest.approx(statistics.stdev(flat), rel=1e-12)
    assert s.median == 1.75  # (1 + 2.5) / 2
    assert (s.minimum, s.maximum) == (Decimal(1), Decimal(10))
    assert s.total == Decimal("18")


def test_summary_odd_count_median_and_single_value():
    assert stats.summarize([(Decimal(5), 1), (Decimal(7), 1), (Decimal(9), 1)]).median == 7
    one = stats.summarize([(Decimal(3), 1)])
    assert (one.mean, one.sd, one.median) == (3.0, None, 3.0)
    assert stats.summarize([]).n == 0


def test_chi_square_by_hand_on_a_two_by_two():
    # Row totals 30, 20; column totals 25, 25; expected 15 15 / 10 10.
    # chi2 = 25/15 + 25/15 + 25/10 + 25/10 = 8.333...
    result = stats.chi_square([[20, 10], [5, 15]])
    assert result.statistic == pytest.approx(25 / 15 * 2 + 2.5 * 2)
    assert result.dof == 1
    # Adjusted residual of cell (0,0): 5 / sqrt(15 * (1 - 30/50) * (1 - 25/50)) = 5 / sqrt(3)
    assert result.residuals[0][0] == pytest.approx(5 / math.sqrt(3))
    assert result.residuals[1][1] == pytest.approx(5 / math.sqrt(3))
    assert result.residuals[0][1] == pytest.approx(-5 / math.sqrt(3))


@pytest.mark.parametrize(
    "table",
    [
        [[20, 10], [5, 15]],
        [[12, 7, 3], [4, 9, 15], [8, 8, 8]],
        [[30, 2, 0, 5], [10, 12, 7, 3]],
        [[5, 0, 9], [0, 0, 0], [7, 3, 1]],  # an empty row is left out
    ],
)
def test_chi_square_agrees_with_scipy(table):
    result = stats.chi_square(table)
    live = [row for row in table if any(row)]
    expected = chi2_contingency(live, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.dof == expected.dof
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_adjusted_residuals_against_the_textbook_formula():
    table = [[12, 7, 3], [4, 9, 15], [8, 8, 8]]
    n = sum(map(sum, table))
    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table, strict=True)]
    result = stats.chi_square(table)
    for i in range(3):
        for j in range(3):
            e = rows[i] * cols[j] / n
            z = (table[i][j] - e) / math.sqrt(e * (1 - rows[i] / n) * (1 - cols[j] / n))
            assert result.residuals[i][j] == pytest.approx(z)


def test_chi_square_needs_two_rows_and_two_columns():
    assert stats.chi_square([[3, 4]]) is None
    assert stats.chi_square([[3, 0], [4, 0]]) is None
    assert stats.chi_square([]) is None


def test_nps_and_weighted_index():
    assert stats.nps(5, 2, 10) == 30.0
    assert stats.nps(0, 0, 0) is None
    weights = {"a": Decimal(50), "b": Decimal(25), "c": Decimal(20), "d": Decimal(5)}
    assert stats.weighted_index({"a": 80, "b": 60, "c": 70, "d": 100}, weights) == 74.0
    # A segment without a score is left out and the weights renormalised.
    assert stats.weighted_index({"a": 80, "b": 60, "c": None, "d": None}, weights) == (
        pytest.approx((50 * 80 + 25 * 60) / 75)
    )
    assert stats.weighted_index({}, weights) is None
