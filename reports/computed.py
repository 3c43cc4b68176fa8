"""Results pages the kept counts cannot serve (filters that narrow the interviews, a
campaign's own interviews) over more interviews than WAIHU_RESULTS_INLINE_LIMIT: the page
asks a task for the figures and shows its progress, then the figures with the time they
were computed. Figures older than WAIHU_RESULTS_FRESH_SECONDS are shown while they are
computed again, saying so.

The figures are the dataclasses the page renders (tables, index, call outcomes, the
cross-tab), pickled into the row by the task that computed them: the database is the only
place they come from, and nothing else writes that column."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import pickle
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports import hooks
from reports.crosstabs import Crosstab, crosstab
from reports.models import ComputedResults, ComputedStatus
from reports.results import Results, kept_statuses, results_build
from reports.selectors import STATUS_SETS, ResultFilters, scope_responses
from reports.tables import version_questions
from reports.tallies import kept_counts
from surveys.models import QuestionnaireVersion, Response

logger = logging.getLogger(__name__)

# A computation not finished after this long lost its worker: it is asked for again.
LOST_AFTER = datetime.timedelta(minutes=15)


@dataclass
class Wanted:
    """What a page asks for: its filters, and the cross-tab's row and column if any."""

    filters: ResultFilters
    row: int | None = None
    column: str = ""

    def as_json(self) -> dict:
        return {"filters": self.filters.to_json(), "row": self.row, "column": self.column}

    @property
    def key(self) -> str:
        text = json.dumps(self.as_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def interviews_in_scope(*, version: QuestionnaireVersion, filters: ResultFilters, campaign) -> int:
    """An upper bound of the interviews a page covers, without counting them: the
    version's (or campaign's) interviews in the page's statuses, from the kept counts
    where they are kept."""
    statuses = STATUS_SETS.get(filters.statuses, STATUS_SETS["completed"])
    if campaign is None:
        kept = kept_counts(version=version)
        if kept is not None:
            return sum(kept.responses.get(s, 0) for s in statuses)
    responses = Response.objects.filter(version=version, status__in=statuses)
    if campaign is not None:
        responses = responses.filter(interview__campaign=campaign)
    return responses.count()


def in_background(*, version: QuestionnaireVersion, filters: ResultFilters, campaign) -> bool:
    """Whether the page's figures are computed by a task rather than in the request."""
    if campaign is None and kept_statuses(filters, None) is not None:
        return False  # the kept counts serve it (or are being built, a task already)
    limit = settings.WAIHU_RESULTS_INLINE_LIMIT
    return interviews_in_scope(version=version, filters=filters, campaign=campaign) > limit


def computed_request(
    *, version: QuestionnaireVersion, campaign, wanted: Wanted, again: bool = False
) -> ComputedResults:
    """The page's computed figures as they stand, queuing their computation when there are
    none yet, when they are stale, when a computation was lost, or when asked `again`."""
    from ops.outbox import enqueue
    from reports.tasks import computed_build_task

    now = timezone.now()
    fresh_since = now - datetime.timedelta(seconds=settings.WAIHU_RESULTS_FRESH_SECONDS)
    with transaction.atomic():
        row, _created = ComputedResults.objects.get_or_create(
            version=version,
            work_order=campaign,
            key=wanted.key,
            defaults={"options": wanted.as_json()},
        )
        waiting = Q(status__in=(ComputedStatus.QUEUED, ComputedStatus.RUNNING))
        due = (
            Q(requested_at__isnull=True)
            | (waiting & Q(requested_at__lt=now - LOST_AFTER))
            | (Q(status=ComputedStatus.DONE) & Q(computed_at__lt=fresh_since))
        )
        if again:
            due |= ~waiting
        queued = (
            ComputedResults.objects.filter(pk=row.pk)
            .filter(due)
            .update(status=ComputedStatus.QUEUED, progress=0, error="", requested_at=now)
        )
        if queued:
            enqueue(computed_build_task, row.pk)
    row.refresh_from_db()
    return row


def computed_build(*, pk: int) -> None:
    """Compute a page's figures (the task); a row another worker claimed is left alone, and
    a failure is kept on the row for the page to show."""
    claimed = ComputedResults.objects.filter(pk=pk, status=ComputedStatus.QUEUED).update(
        status=ComputedStatus.RUNNING, progress=5
    )
    if not claimed:
        return
    row = ComputedResults.objects.select_related("version", "work_order").get(pk=pk)
    started = time.monotonic()

    def progress(percent: int) -> None:
        ComputedResults.objects.filter(pk=pk, status=ComputedStatus.RUNNING).update(
            progress=percent
        )

    try:
        filters = ResultFilters.from_json(row.options.get("filters"))
        built = results_build(
            version=None if row.work_order_id else row.version,
            campaign=row.work_order,
            filters=filters,
            progress=progress,
        )
        table = _crosstab(built, row.options.get("row"), row.options.get("column") or "")
        progress(95)
        figures = pickle.dumps(
            {
                "tables": built.tables,
                "index": built.index,
                "outcomes": built.outcomes,
                "calls": built.calls,
                "crosstab": table,
            }
        )
    except Exception as error:  # the user sees it on the page and can ask again
        logger.exception("computing results %s failed", pk)
        ComputedResults.objects.filter(pk=pk).update(
            status=ComputedStatus.FAILED, error=str(error)[:1000] or type(error).__name__
        )
        return
    ComputedResults.objects.filter(pk=pk).update(
        status=ComputedStatus.DONE,
        progress=100,
        figures=figures,
        computed_at=timezone.now(),
        seconds=time.monotonic() - started,
        error="",
    )


def _crosstab(built: Results, row_pk, column: str) -> Crosstab | None:
    if not row_pk or not column:
        return None
    row = built.question(int(row_pk))
    kind, _sep, key = column.partition(":")
    other = built.question(int(key)) if kind == "q" and key.isdigit() else key
    if row is None or other is None:
        return None
    try:
        return crosstab(row=row, column=other, responses=built.responses)
    except ValueError:
        return None


def computed_results(row: ComputedResults) -> tuple[Results, Crosstab | None]:
    """The page's Results from a row's computed figures (with the page's own, unevaluated,
    interviews for the links that list them)."""
    saved = pickle.loads(bytes(row.figures))  # noqa: S301 - written only by computed_build
    filters = ResultFilters.from_json(row.options.get("filters"))
    version = row.version
    built = Results(
        version=version,
        filters=filters,
        responses=scope_responses(version=version, filters=filters, campaign=row.work_order),
        questions=version_questions(version=version),
        tables=saved["tables"],
        index=saved["index"],
        outcomes=saved["outcomes"],
        attributes_available=hooks.attributes_available(),
        campaign=row.work_order,
        calls=saved["calls"],
        computed_at=row.computed_at,
    )
    return built, saved["crosstab"]
