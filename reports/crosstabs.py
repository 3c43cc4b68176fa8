"""Cross-tabulation of a closed question against another closed question or a contact
attribute: counts, column percentages with their bases, Pearson's chi-square test and the
cells that differ from the rest of their row (adjusted standardized residuals)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, QuerySet
from django.utils.translation import gettext as _

from reports import hooks, stats
from reports.tables import CLOSED_TYPES, SINGLE_CODED
from reports.tallies import KeptCounts
from surveys.models import AnswerChoice, Question, Response

HIGHER = "higher"
LOWER = "lower"


@dataclass
class Crosstab:
    row_title: str
    column_title: str
    row_labels: list[str]
    column_labels: list[str]
    counts: list[list[int]]
    column_bases: list[int]
    total_counts: list[int]
    total_base: int
    chi: stats.ChiSquare | None = None
    marks: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Respondents left out because the column variable is unknown for them.
    unknown: int = 0

    @property
    def percents(self) -> list[list[float | None]]:
        return [
            [stats.percent(n, base) for n, base in zip(row, self.column_bases, strict=True)]
            for row in self.counts
        ]

    @property
    def total_percents(self) -> list[float | None]:
        return [stats.percent(n, self.total_base) for n in self.total_counts]

    @property
    def body(self) -> list[dict]:
        """Rows ready for a template: label, cells (count, percent, mark), total."""
        out = []
        percents = self.percents
        totals = self.total_percents
        for i, label in enumerate(self.row_labels):
            cells = [
                {
                    "count": self.counts[i][j],
                    "percent": percents[i][j],
                    "mark": self.marks[i][j] if self.marks else "",
                }
                for j in range(len(self.column_labels))
            ]
            out.append(
                {
                    "label": label,
                    "cells": cells,
                    "total": self.total_counts[i],
                    "total_percent": totals[i],
                }
            )
        return out


def variable_choices(*, questions: list[Question]) -> list[tuple[str, str]]:
    """The variables a cross-tab can use as columns: the closed questions, then the contact
    attributes when a source of them is registered."""
    options = [
        (f"q:{q.pk}", f"{q.code} {q.text[:40]}") for q in questions if q.type in CLOSED_TYPES
    ]
    if hooks.attributes_available():
        options += [(f"attr:{name}", str(label)) for name, label in hooks.ATTRIBUTES.items()]
    return options


def _ids(responses: QuerySet[Response]) -> QuerySet:
    return responses.order_by().values("pk")


def _choices(question: Question) -> list:
    return sorted(question.choices.all(), key=lambda c: c.position)


def crosstab(
    *,
    row: Question,
    column: Question | str,
    responses: QuerySet[Response],
    kept: KeptCounts | None = None,
) -> Crosstab:
    """Cross-tabulate the row question against a column question or an attribute name
    (brand, region, segment). Both questions must be closed. With kept counts that cover
    the responses' statuses, the cells are read from them instead of counted."""
    if row.type not in CLOSED_TYPES:
        raise ValueError("the row variable must be a closed question")
    if isinstance(column, Question):
        if column.type not in CLOSED_TYPES:
            raise ValueError("the column variable must be a closed question")
        if kept is not None and kept.crossed and column.pk != row.pk:
            table = _by_question_kept(row, column, kept)
        else:
            table = _by_question(row, column, responses)
        single = row.type in SINGLE_CODED and column.type in SINGLE_CODED
    else:
        if column not in hooks.ATTRIBUTES:
            raise ValueError(f"unknown attribute {column!r}")
        if kept is not None and kept.by_attribute:
            table = _by_attribute_kept(row, column, kept)
        else:
            table = _by_attribute(row, column, responses)
        single = row.type in SINGLE_CODED
    if single:
        _test(table)
    else:
        table.notes.append(
            _(
                "No chi-square test: a multiple-choice question counts a person in several "
                "cells, so the cells are not independent."
            )
        )
    return table


def _by_question(row: Question, column: Question, responses: QuerySet[Response]) -> Crosstab:
    ids = _ids(responses)
    other = "answer__response__answers__selected"
    both = AnswerChoice.objects.filter(
        question=row, answer__response__in=ids, **{f"{other}__question": column}
    )
    cells: dict[tuple[int, int], int] = {
        (r["choice_id"], r["col"]): r["n"]
        for r in both.values("choice_id", col=F(f"{other}__choice_id"))
        .annotate(n=Count("id"))
        .order_by()
    }
    totals = {
        r["choice_id"]: r["n"]
        for r in both.values("choice_id").annotate(n=Count("answer_id", distinct=True)).order_by()
    }
    total_base = both.aggregate(n=Count("answer_id", distinct=True))["n"]
    bases = {
        r["choice_id"]: r["n"]
        for r in AnswerChoice.objects.filter(
            question=column, answer__response__in=ids, **{f"{other}__question": row}
        )
        .values("choice_id")
        .annotate(n=Count("answer_id", distinct=True))
        .order_by()
    }
    row_choices = _choices(row)
    col_choices = _choices(column)
    return Crosstab(
        row_title=f"{row.code} {row.text}",
        column_title=f"{column.code} {column.text}",
        row_labels=[c.label or str(c.code) for c in row_choices],
        column_labels=[c.label or str(c.code) for c in col_choices],
        counts=[[cells.get((r.pk, c.pk), 0) for c in col_choices] for r in row_choices],
        column_bases=[bases.get(c.pk, 0) for c in col_choices],
        total_counts=[totals.get(r.pk, 0) for r in row_choices],
        total_base=total_base,
    )


def _by_question_kept(row: Question, column: Question, kept: KeptCounts) -> Crosstab:
    pairs = kept.pairs(row.pk, column.pk)
    row_choices = _choices(row)
    col_choices = _choices(column)
    return Crosstab(
        row_title=f"{row.code} {row.text}",
        column_title=f"{column.code} {column.text}",
        row_labels=[c.label or str(c.code) for c in row_choices],
        column_labels=[c.label or str(c.code) for c in col_choices],
        counts=[[pairs.cells.get((r.pk, c.pk), 0) for c in col_choices] for r in row_choices],
        column_bases=[pairs.column_with.get(c.pk, 0) for c in col_choices],
        total_counts=[pairs.row_with.get(r.pk, 0) for r in row_choices],
        total_base=pairs.both,
    )


def _by_attribute_kept(row: Question, attribute: str, kept: KeptCounts) -> Crosstab:
    counted = kept.attribute(attribute, row.pk)
    values = sorted(v for v, n in counted.answered.items() if v and n)
    row_choices = _choices(row)
    return Crosstab(
        row_title=f"{row.code} {row.text}",
        column_title=str(hooks.ATTRIBUTES[attribute]),
        row_labels=[c.label or str(c.code) for c in row_choices],
        column_labels=values,
        counts=[[counted.cells.get((r.pk, v), 0) for v in values] for r in row_choices],
        column_bases=[counted.answered[v] for v in values],
        total_counts=[sum(counted.cells.get((r.pk, v), 0) for v in values) for r in row_choices],
        total_base=sum(counted.answered[v] for v in values),
        unknown=counted.answered.get("", 0),
    )


def _by_attribute(row: Question, attribute: str, responses: QuerySet[Response]) -> Crosstab:
    """The attribute comes from outside the answers (the registered source), so the row
    question's selections stream past once and are counted against it."""
    mapping = hooks.contact_attributes(responses) or {}
    counts: Counter = Counter()
    people: dict[str, set[int]] = defaultdict(set)
    unknown: set[int] = set()
    selections = (
        AnswerChoice.objects.filter(question=row, answer__response__in=_ids(responses))
        .values_list("answer__response_id", "choice_id")
        .order_by()
    )
    for response_id, choice_id in selections.iterator(chunk_size=5000):
        value = mapping.get(response_id, {}).get(attribute, "")
        if not value:
            unknown.add(response_id)
            continue
        counts[choice_id, value] += 1
        people[value].add(response_id)
    values = sorted(people)
    row_choices = _choices(row)
    table = Crosstab(
        row_title=f"{row.code} {row.text}",
        column_title=str(hooks.ATTRIBUTES[attribute]),
        row_labels=[c.label or str(c.code) for c in row_choices],
        column_labels=values,
        counts=[[counts.get((r.pk, v), 0) for v in values] for r in row_choices],
        column_bases=[len(people[v]) for v in values],
        total_counts=[sum(counts.get((r.pk, v), 0) for v in values) for r in row_choices],
        total_base=len(set().union(*people.values())) if people else 0,
        unknown=len(unknown),
    )
    return table


def _test(table: Crosstab) -> None:
    table.chi = stats.chi_square(table.counts)
    if table.chi is None:
        table.notes.append(_("No chi-square test: the table needs two rows and two columns."))
        table.marks = [["" for _c in row] for row in table.counts]
        return
    table.marks = [
        [
            HIGHER
            if z is not None and z > stats.SIGNIFICANT_Z
            else LOWER
            if z is not None and z < -stats.SIGNIFICANT_Z
            else ""
            for z in row
        ]
        for row in table.chi.residuals
    ]
    if table.chi.small_expected_share > 0.2:
        table.notes.append(
            _(
                "More than a fifth of the cells expect fewer than 5 answers: read the test "
                "with care."
            )
        )
