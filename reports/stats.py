"""The statistics of the results pages, on plain numbers: percentages, summaries of a
frequency distribution, and the chi-square test of a contingency table with adjusted
standardized residuals. Exact arithmetic (Decimal, Fraction) wherever a figure is printed."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from scipy.stats import chi2 as _chi2

# Residuals beyond this mark a cell as differing from the rest of its row at the 5% level.
SIGNIFICANT_Z = 1.96


def percent(part: int | Fraction, whole: int | Fraction) -> float | None:
    """part / whole as a percentage, or None when there is no base."""
    if not whole:
        return None
    return float(Fraction(part) * 100 / Fraction(whole))


@dataclass(frozen=True)
class Summary:
    """Mean, standard deviation (sample), median, minimum and maximum of numbers."""

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    minimum: Decimal | None
    maximum: Decimal | None
    total: Decimal


def summarize(distribution: Iterable[tuple[Decimal | int, int]]) -> Summary:
    """Summarize a frequency distribution given as (value, count) pairs, as a GROUP BY on the
    value returns it. The mean and the variance are computed exactly with fractions."""
    pairs = sorted((Decimal(value), int(count)) for value, count in distribution if count > 0)
    n = sum(count for _value, count in pairs)
    if n == 0:
        return Summary(0, None, None, None, None, None, Decimal(0))
    total = sum((Fraction(value) * count for value, count in pairs), Fraction(0))
    mean = total / n
    sd = None
    if n > 1:
        squares = sum(
            (count * (Fraction(value) - mean) ** 2 for value, count in pairs), Fraction(0)
        )
        sd = math.sqrt(squares / (n - 1))
    return Summary(
        n=n,
        mean=float(mean),
        sd=sd,
        median=float(_median(pairs, n)),
        minimum=pairs[0][0],
        maximum=pairs[-1][0],
        total=Decimal(total.numerator) / Decimal(total.denominator),
    )


def _median(pairs: Sequence[tuple[Decimal, int]], n: int) -> Fraction:
    """The middle value of the sorted list the pairs stand for; the mean of the two middle
    values when n is even."""
    wanted = [(n - 1) // 2, n // 2]
    found: list[Fraction] = []
    seen = 0
    for value, count in pairs:
        while wanted and wanted[0] < seen + count:
            found.append(Fraction(value))
            wanted.pop(0)
        seen += count
        if not wanted:
            break
    return (found[0] + found[1]) / 2


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float
    expected: list[list[float]]
    # Adjusted standardized residuals: (observed - expected) divided by its standard error,
    # sqrt(E * (1 - row share) * (1 - column share)); None where that error is zero.
    residuals: list[list[float | None]]
    # Share of cells whose expected count is below 5, when the test is less reliable.
    small_expected_share: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def chi_square(observed: Sequence[Sequence[int]]) -> ChiSquare | None:
    """Pearson's chi-square test of independence (no continuity correction). Rows or columns
    that are entirely empty are left out of the degrees of freedom. None when fewer than two
    non-empty rows or columns remain."""
    rows = [list(map(int, row)) for row in observed]
    if not rows:
        return None
    row_totals = [sum(row) for row in rows]
    col_totals = [sum(col) for col in zip(*rows, strict=True)]
    total = sum(row_totals)
    live_rows = sum(1 for t in row_totals if t)
    live_cols = sum(1 for t in col_totals if t)
    if total == 0 or live_rows < 2 or live_cols < 2:
        return None
    statistic = 0.0
    small = 0
    expected: list[list[float]] = []
    residuals: list[list[float | None]] = []
    for i, row in enumerate(rows):
        e_row: list[float] = []
        r_row: list[float | None] = []
        for j, observed_count in enumerate(row):
            e = row_totals[i] * col_totals[j] / total
            e_row.append(e)
            if e == 0:
                r_row.append(None)
                continue
            if e < 5:
                small += 1
            statistic += (observed_count - e) ** 2 / e
            variance = e * (1 - row_totals[i] / total) * (1 - col_totals[j] / total)
            r_row.append((observed_count - e) / math.sqrt(variance) if variance > 0 else None)
        expected.append(e_row)
        residuals.append(r_row)
    dof = (live_rows - 1) * (live_cols - 1)
    return ChiSquare(
        statistic=statistic,
        dof=dof,
        p_value=float(_chi2.sf(statistic, dof)),
        expected=expected,
        residuals=residuals,
        small_expected_share=small / (live_rows * live_cols),
    )


def nps(promoters: int, detractors: int, base: int) -> float | None:
    """Net promoter score: the percentage of promoters less the percentage of detractors."""
    if not base:
        return None
    return float(Fraction(promoters - detractors, base) * 100)


def weighted_index(scores: dict[str, float | None], weights: dict[str, Decimal]) -> float | None:
    """Σ weight × score over the segments that have a score, divided by the sum of their
    weights (so a segment nobody answered in does not pull the index down)."""
    used = {k: Fraction(w) for k, w in weights.items() if w > 0 and scores.get(k) is not None}
    denominator = sum(used.values(), Fraction(0))
    if not denominator:
        return None
    numerator = sum((w * Fraction(scores[k]) for k, w in used.items()), Fraction(0))
    return float(numerator / denominator)
