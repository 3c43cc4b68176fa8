"""Reads for the campaign page: who may see it, live progress, contacts at risk of missing
their deadline, and the attempts with their timelines."""

import datetime

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from accounts.roles import Role
from approvals.calendar_services import official_year_missing
from outbound.contacts.selectors import (
    DeadlineState,
    calling_days_ahead,
    deadline_filters,
    has_deadlines,
)
from outbound.dialer import counts, windows
from outbound.models import (
    CallAttempt,
    CallEvent,
    CampaignSettings,
    Contact,
    DialState,
    Outcome,
    WorkOrder,
)

CHART_MINUTES = 15


def campaigns_viewable_by(*, user) -> QuerySet[WorkOrder]:
    """Outbound administrators see every campaign; the requester and the order's team see
    theirs."""
    if not user.is_authenticated:
        return WorkOrder.objects.none()
    if user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN):
        return WorkOrder.objects.all()
    return WorkOrder.objects.filter(
        Q(requester=user)
        | Exists(WorkOrder.team.through.objects.filter(workorder_id=OuterRef("pk"), user=user))
    )


def campaign_for(*, user, pk: int) -> WorkOrder:
    return (
        campaigns_viewable_by(user=user)
        .select_related("requester", "department", "dialing")
        .get(pk=pk)
    )


def progress(*, campaign: WorkOrder, now: datetime.datetime | None = None) -> dict:
    """The live numbers: contacts by state, attempts by outcome, calls in progress, calls
    per minute, exclusion hits, and the last minutes' calls for the chart. Three queries
    whose cost follows the calls of the last minutes, not the campaign's history: the
    totals are kept counts (outbound.dialer.counts)."""
    now = now or timezone.now()
    kept = counts.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    contacts_total = kept[(counts.CONTACT, "")]
    contacts = {status: kept[(counts.STATE, status)] for status in DialState.Status.values}
    contacts["not_queued"] = contacts_total - sum(contacts.values())
    attempts = CallAttempt.objects.filter(campaign=campaign)
    opened = attempts.filter(finished_at=None).aggregate(
        open=Count("pk"), in_progress=Count("pk", filter=Q(status_rank__gte=3))
    )
    since = now - datetime.timedelta(minutes=CHART_MINUTES)
    minute_ago = now - datetime.timedelta(minutes=1)
    recent = attempts.filter(created_at__gte=since).order_by().values_list("created_at", flat=True)
    per_minute = [0] * CHART_MINUTES
    last_minute = 0
    for created in recent:
        last_minute += created >= minute_ago
        index = CHART_MINUTES - 1 - int((now - created).total_seconds() // 60)
        if 0 <= index < CHART_MINUTES:
            per_minute[index] += 1
    outcomes = {outcome: kept[(counts.OUTCOME, outcome)] for outcome in Outcome.values}
    finished = sum(contacts[s] for s in DialState.FINAL)
    return {
        "contacts_total": contacts_total,
        "contacts": contacts,
        "contacts_finished": finished,
        "percent_done": round(100 * finished / contacts_total, 1) if contacts_total else 0.0,
        "attempts_total": sum(n for (kind, _item), n in kept.items() if kind == counts.OUTCOME),
        "attempts_open": opened["open"],
        "in_progress": opened["in_progress"],
        "calls_last_minute": last_minute,
        "outcomes": outcomes,
        "do_not_call_hits": kept[(counts.EXCLUDED, "do_not_call")],
        "red_list_hits": kept[(counts.EXCLUDED, "red_list")],
        "per_minute": per_minute,
    }


def contacts_by_deadline(
    *, campaign: WorkOrder, today: datetime.date | None = None, limit: int = 10
) -> dict[str, list[Contact]]:
    """For a complaint callback: {DeadlineState: its first `limit` contacts, the earliest
    deadline first}: the overdue apart from those at risk (which carry their calling days
    left). Empty for other campaigns."""
    if not has_deadlines(campaign):
        return {}
    overdue = deadline_filters(today, campaign=campaign)[DeadlineState.OVERDUE]
    return {
        DeadlineState.OVERDUE: list(
            Contact.objects.filter(campaign=campaign)
            .filter(overdue)
            .select_related("dial_state")
            .order_by("deadline", "pk")[:limit]
        ),
        DeadlineState.AT_RISK: contacts_at_risk(campaign=campaign, today=today, limit=limit),
    }


def events_in_call_order() -> QuerySet[CallEvent]:
    """An attempt's events in the order the call went, not the order they arrived in: ours
    from before the carrier had the call (created, queued) first, then the carrier's by its
    SequenceNumber, then any others of ours without one (a status fetched from the carrier
    when callbacks went missing, a call that never left, an agent's leg) as recorded."""
    return CallEvent.objects.order_by(
        Case(
            When(sequence__isnull=False, then=Value(1)),
            When(status__in=(CallAttempt.Status.CREATED, CallAttempt.Status.QUEUED), then=Value(0)),
            default=Value(2),
            output_field=IntegerField(),
        ),
        "sequence",
        "pk",
    )


def contacts_at_risk(
    *,
    campaign: WorkOrder,
    today: datetime.date | None = None,
    limit=50,
):
    """Complaint callbacks at risk (see deadline_filters: at most WAIHU_DEADLINE_RISK_DAYS
    of the campaign's calling days left before the deadline), the earliest deadline
    first, each carrying its `calling_days_left`."""
    if not has_deadlines(campaign):
        return []
    today = today or timezone.localdate()
    ahead = calling_days_ahead(campaign, today)
    at_risk = list(
        Contact.objects.filter(campaign=campaign)
        .filter(deadline_filters(today, campaign=campaign)[DeadlineState.AT_RISK])
        .select_related("dial_state")
        .order_by("deadline", "pk")[:limit]
    )
    risk = settings.WAIHU_DEADLINE_RISK_DAYS
    for contact in at_risk:
        contact.calling_days_left = sum(1 for day in ahead[:risk] if day <= contact.deadline)
    return at_risk


COMING_DAYS = 180


def coming_special_days(*, rules: CampaignSettings, today: datetime.date | None = None):
    """The coming days the calendar or the campaign's own dates set apart, for its
    settings page."""
    today = today or timezone.localdate()
    return windows.special_days(rules, today, today + datetime.timedelta(days=COMING_DAYS))


def coming_years_missing(*, today: datetime.date | None = None) -> list[int]:
    """The years of the coming days whose official calendar is not in Waihu: their
    holidays are neither listed nor kept free of calls."""
    today = today or timezone.localdate()
    last = today + datetime.timedelta(days=COMING_DAYS)
    return [year for year in range(today.year, last.year + 1) if official_year_missing(year)]


def attempt_list(
    *, campaign: WorkOrder, outcome: str = "", status: str = "", search: str = ""
) -> QuerySet[CallAttempt]:
    attempts = CallAttempt.objects.filter(campaign=campaign)
    if outcome == "open":
        attempts = attempts.filter(finished_at=None)
    elif outcome:
        attempts = attempts.filter(outcome=outcome)
    if status:
        attempts = attempts.filter(status=status)
    search = search.strip()
    if search:
        attempts = attempts.filter(
            Q(to__contains=search.lstrip("+")) | Q(contact__name__icontains=search)
        )
    return (
        attempts.select_related("contact")
        .prefetch_related(Prefetch("events", queryset=events_in_call_order()))
        .order_by("-created_at", "-pk")
    )
