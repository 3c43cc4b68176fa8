"""Which interviews a results page covers: the responses of a questionnaire version,
narrowed by status, date range, agent and (when contact attributes are available) brand,
region or segment. Every computation in reports takes such a queryset."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.utils import timezone

from reports import hooks
from surveys.models import QuestionnaireVersion, Response, ResponseStatus, VersionStatus

# The statuses a results page may cover; completed interviews by default.
STATUS_SETS = {
    "completed": (ResponseStatus.COMPLETED,),
    "ended": (ResponseStatus.COMPLETED, ResponseStatus.PARTIAL),
    "all": (
        ResponseStatus.COMPLETED,
        ResponseStatus.PARTIAL,
        ResponseStatus.SCREENED_OUT,
        ResponseStatus.ABANDONED,
        ResponseStatus.IN_PROGRESS,
    ),
}


@dataclass(frozen=True)
class ResultFilters:
    statuses: str = "completed"
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    agent_id: int | None = None
    attribute: str = ""
    attribute_value: str = ""
    # A campaign's own contacts carry a segment column; the campaign pages filter on it.
    segment: str = ""
    # The base of the multiple choices' percentages (reports.tables.BASES).
    base: str = "asked"

    def to_json(self) -> dict:
        data = asdict(self)
        for name in ("date_from", "date_to"):
            if data[name] is not None:
                data[name] = data[name].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict | None) -> ResultFilters:
        data = dict(data or {})
        for name in ("date_from", "date_to"):
            if data.get(name):
                data[name] = datetime.date.fromisoformat(data[name])
        known = {
            "statuses",
            "date_from",
            "date_to",
            "agent_id",
            "attribute",
            "attribute_value",
            "segment",
            "base",
        }
        return cls(**{k: v for k, v in data.items() if k in known})

    def as_kwargs(self) -> dict:
        return asdict(self)

    @property
    def narrows_by_attribute(self) -> bool:
        return bool(self.attribute and self.attribute_value)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def scope_responses(
    *, version: QuestionnaireVersion, filters: ResultFilters | None = None, campaign=None
) -> QuerySet[Response]:
    """The responses of the version the filters keep; with a campaign (a work order), only
    the interviews taken in it. The brand/region/segment filter applies only when a source
    of contact attributes is registered; otherwise it is ignored."""
    filters = filters or ResultFilters()
    responses = Response.objects.filter(
        version=version, status__in=STATUS_SETS.get(filters.statuses, STATUS_SETS["completed"])
    )
    if campaign is not None:
        responses = responses.filter(interview__campaign=campaign)
        if filters.segment:
            responses = responses.filter(interview__contact__segment=filters.segment)
    if filters.date_from:
        responses = responses.filter(started_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        end = filters.date_to + datetime.timedelta(days=1)
        responses = responses.filter(started_at__lt=_day_start(end))
    if filters.agent_id:
        responses = responses.filter(created_by_id=filters.agent_id)
    if filters.narrows_by_attribute and hooks.attributes_available():
        mapping = hooks.contact_attributes(responses) or {}
        wanted = filters.attribute_value.strip().casefold()
        keep = [
            rid
            for rid, attrs in mapping.items()
            if attrs.get(filters.attribute, "").casefold() == wanted
        ]
        responses = responses.filter(pk__in=keep)
    return responses.order_by()


def result_versions() -> list[QuestionnaireVersion]:
    """Published versions with their number of completed and all interviews: from the kept
    counts where they are kept, else counted (one GROUP BY over those versions only)."""
    from reports.tallies import response_totals

    versions = list(
        QuestionnaireVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("questionnaire")
        .order_by("questionnaire__name", "-number")
    )
    totals, _kept = response_totals(version_ids=[v.pk for v in versions])
    counted = [v.pk for v in versions if v.pk not in totals]
    if counted:
        rows = (
            Response.objects.filter(version_id__in=counted)
            .order_by()
            .values("version_id", "status")
            .annotate(n=Count("id"))
        )
        for row in rows:
            per = totals.setdefault(row["version_id"], {})
            per[row["status"]] = row["n"]
    for version in versions:
        per = totals.get(version.pk, {})
        version.completed_count = per.get(ResponseStatus.COMPLETED, 0)
        version.response_count = sum(per.values())
    return versions


def version_agents(*, version: QuestionnaireVersion) -> QuerySet:
    """The users who took interviews with the version, for the agent filter."""
    ids = (
        Response.objects.filter(version=version, created_by__isnull=False)
        .order_by()
        .values("created_by_id")
    )
    return get_user_model().objects.filter(pk__in=ids).order_by("username")


def status_counts(*, responses: QuerySet[Response]) -> dict[str, int]:
    """{status: number of responses}, in one GROUP BY."""
    rows = responses.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
