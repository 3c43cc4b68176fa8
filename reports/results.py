"""Everything a results scope shows, assembled once for the page, the analysis draft and
the workbook. A scope is a questionnaire version's interviews, or a campaign's: the
interviews taken in one work order, with that campaign's call outcomes beside them."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from reports import hooks
from reports.index import SatisfactionIndex, satisfaction_index
from reports.selectors import ResultFilters, scope_responses, status_counts
from reports.tables import QuestionTable, question_tables, version_questions
from reports.tallies import KeptCounts, kept_counts, tallies_request
from surveys.models import Question, QuestionnaireVersion, Response, ResponseStatus

if TYPE_CHECKING:
    from outbound.models import WorkOrder
    from reports.outcomes import CampaignOutcomes


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
    campaign: WorkOrder | None = None
    calls: CampaignOutcomes | None = None
    # The tables come from the version's kept counts (else they were computed).
    kept: KeptCounts | None = None
    # The kept counts are being built; until then the tables are computed.
    building: bool = False
    # Computed by a task (ComputedResults) at this time, not at this view.
    computed_at: datetime.datetime | None = None

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


def kept_statuses(filters: ResultFilters, campaign) -> tuple | None:
    """The statuses the page covers when it covers all the version's interviews in them,
    which is what the kept counts count; None when other filters narrow it."""
    if campaign is not None or filters.date_from or filters.date_to or filters.agent_id:
        return None
    if filters.narrows_by_attribute and hooks.attributes_available():
        return None
    return _statuses(filters)


def _statuses(filters: ResultFilters) -> tuple:
    from reports.selectors import STATUS_SETS

    return STATUS_SETS.get(filters.statuses, STATUS_SETS["completed"])


def results_build(
    *,
    version: QuestionnaireVersion | None = None,
    filters: ResultFilters | None = None,
    kind: str | None = None,
    campaign: WorkOrder | None = None,
    progress: Callable[[int], None] | None = None,
) -> Results:
    """The results of a version's interviews, or of a campaign's (its questionnaire's
    interviews taken in it, its kind's satisfaction target, and its call outcomes).
    `progress` is told the percentage done after each step."""
    filters = filters or ResultFilters()
    step = progress or (lambda _percent: None)
    calls = None
    if campaign is not None:
        from django.contrib.auth import get_user_model

        from reports.outcomes import campaign_outcomes

        version = campaign.questionnaire
        kind = campaign.kind
        agent = None
        if filters.agent_id:
            agent = get_user_model().objects.filter(pk=filters.agent_id).first()
        calls = campaign_outcomes(
            campaign=campaign, date_from=filters.date_from, date_to=filters.date_to, agent=agent
        )
    if version is None:
        raise ValueError("results need a questionnaire version or a campaign that has one")
    step(20)
    responses = scope_responses(version=version, filters=filters, campaign=campaign)
    everyone = scope_responses(
        version=version,
        filters=ResultFilters(**{**filters.as_kwargs(), "statuses": "all"}),
        campaign=campaign,
    )
    questions = version_questions(version=version)
    kept, building = None, False
    if kept_statuses(filters, campaign) is not None:
        kept = kept_counts(version=version)
        if kept is None:
            building = tallies_request(version=version)
    if kept is not None:
        # Counted over every status; the tables take the page's statuses.
        outcomes = dict(kept.responses)
        kept = kept.over(_statuses(filters))
    else:
        outcomes = status_counts(responses=everyone)
    step(30)
    tables = question_tables(
        version=version, responses=responses, questions=questions, kept=kept, base=filters.base
    )
    step(60)
    index = satisfaction_index(
        questions=questions, tables=tables, responses=responses, kind=kind, kept=kept
    )
    step(85)
    return Results(
        version=version,
        filters=filters,
        responses=responses,
        questions=questions,
        tables=tables,
        index=index,
        outcomes=outcomes,
        attributes_available=hooks.attributes_available(),
        campaign=campaign,
        calls=calls,
        kept=kept,
        building=building,
    )
