"""Everything a results scope shows, assembled once for the page, the analysis draft and
the workbook."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from reports import hooks
from reports.index import SatisfactionIndex, satisfaction_index
from reports.selectors import ResultFilters, scope_responses, status_counts
from reports.tables import QuestionTable, question_tables, version_questions
from surveys.models import Question, QuestionnaireVersion, Response, ResponseStatus


@dataclass
class Results:
    version: QuestionnaireVersion
    filters: ResultFilters
    responses: QuerySet[Response]
    questions: list[Question]
    tables: list[QuestionTable]
    index: SatisfactionIndex
    outcomes: dict[str, int]
    attributes_available: bool

    @property
    def completed(self) -> int:
        return self.outcomes.get(ResponseStatus.COMPLETED, 0)

    @property
    def started(self) -> int:
        return sum(self.outcomes.values())

    @property
    def interviews(self) -> int:
        """The interviews the tables cover (the status filter applied)."""
        return sum(n for status, n in self.outcomes.items() if status in _statuses(self.filters))

    def question(self, pk: int) -> Question | None:
        return next((q for q in self.questions if q.pk == pk), None)


def _statuses(filters: ResultFilters) -> tuple:
    from reports.selectors import STATUS_SETS

    return STATUS_SETS.get(filters.statuses, STATUS_SETS["completed"])


def results_build(
    *, version: QuestionnaireVersion, filters: ResultFilters | None = None, kind: str | None = None
) -> Results:
    filters = filters or ResultFilters()
    responses = scope_responses(version=version, filters=filters)
    everyone = scope_responses(
        version=version,
        filters=ResultFilters(**{**filters.as_kwargs(), "statuses": "all"}),
    )
    questions = version_questions(version=version)
    tables = question_tables(version=version, responses=responses, questions=questions)
    return Results(
        version=version,
        filters=filters,
        responses=responses,
        questions=questions,
        tables=tables,
        index=satisfaction_index(
            questions=questions, tables=tables, responses=responses, kind=kind
        ),
        outcomes=status_counts(responses=everyone),
        attributes_available=hooks.attributes_available(),
    )
