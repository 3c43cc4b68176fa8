"""Reads for the campaign page: who may see it, live progress, contacts at risk of missing
their deadline, and the attempts with their timelines."""

import datetime

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.roles import Role
from approvals.calendar_services import official_year_missing
from outbound.dialer import windows
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
    per minute, exclusion hits, and the last minutes' calls for the chart."""
    now = now or timezone.now()
    contacts_total = Contact.objects.filter(campaign=campaign).count()
    states = dict(
        DialState.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    contacts = {status: states.get(status, 0) for status in DialState.Status.values}
    contacts["not_queued"] = contacts_total - sum(states.values())
    exclusions = dict(
        DialState.objects.filter(campaign=campaign, status=DialState.Status.EXCLUDED)
        .values_list("excluded_reason")
        .annotate(n=Count("pk"))
        .values_list("excluded_reason", "n")
    )
    attempts = CallAttempt.objects.filter(campaign=campaign)
    since = now - datetime.timedelta(minutes=CHART_MINUTES)
    numbers = attempts.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(finished_at=None)),
        in_progress=Count("pk", filter=Q(finished_at=None, status_rank__gte=3)),
        last_minute=Count("pk", filter=Q(created_at__gte=now - datetime.timedelta(minutes=1))),
    )
    outcomes = dict(
        attempts.exclude(outcome="")
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    recent = attempts.filter(created_at__gte=since).values_list("created_at", flat=True)
    per_minute = [0] * CHART_MINUTES
    for created in recent:
        index = CHART_MINUTES - 1 - int((now - created).total_seconds() // 60)
        if 0 <= index < CHART_MINUTES:
            per_minute[index] += 1
    finished = sum(contacts[s] for s in DialState.FINAL)
    return {
        "contacts_total": contacts_total,
        "contacts": contacts,
        "contacts_finished": finished,
        "percent_done": round(100 * finished / contacts_total, 1) if contacts_total else 0.0,
        "attempts_total": numbers["total"],
        "attempts_open": numbers["open"],
        "in_progress": numbers["in_progress"],
        "calls_last_minute": numbers["last_minute"],
        "outcomes": {outcome: outcomes.get(outcome, 0) for outcome in Outcome.values},
        "do_not_call_hits": exclusions.get("do_not_call", 0),
        "red_list_hits": exclusions.get("red_list", 0),
        "per_minute": per_minute,
    }


def _rules_of(campaign: WorkOrder) -> CampaignSettings:
    try:
        return campaign.dialing
    except CampaignSettings.DoesNotExist:
        return CampaignSettings(campaign=campaign)


def contacts_at_risk(
    *,
    campaign: WorkOrder,
    rules: CampaignSettings | None = None,
    today: datetime.date | None = None,
    limit=50,
):
    """Complaint callbacks not yet done that have at most WAIHU_DEADLINE_RISK_DAYS calling
    days left after today before their deadline. Calling days are the days the campaign
    can actually call: its weekday hours and dates, and the calendar's holidays unless it
    calls on them. Each contact carries `calling_days_left`."""
    if campaign.kind != WorkOrder.Kind.COMPLAINT_CALLBACK:
        return []
    rules = rules or _rules_of(campaign)
    today = today or timezone.localdate()
    risk = settings.WAIHU_DEADLINE_RISK_DAYS
    ahead = windows.calling_days_after(rules, today, count=risk + 1)
    contacts = Contact.objects.filter(campaign=campaign, deadline__isnull=False)
    if len(ahead) > risk:
        # Safe up to the day before the first calling day past the margin.
        contacts = contacts.filter(deadline__lt=ahead[risk])
    at_risk = list(
        contacts.exclude(dial_state__status__in=DialState.FINAL)
        .select_related("dial_state")
        .order_by("deadline", "pk")[:limit]
    )
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
        .prefetch_related(
            Prefetch("events", queryset=CallEvent.objects.order_by("occurred_at", "sequence", "pk"))
        )
        .order_by("-created_at", "-pk")
    )
