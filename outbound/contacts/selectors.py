"""Reads for contacts, import jobs and the lists never to call. `excluded_numbers` and
`is_excluded` are what the importer and the dialer ask before a number is stored or dialled."""

import datetime
import re
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Q,
    QuerySet,
    TextChoices,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from outbound.contacts.normalise import normalise_phone
from outbound.models import (
    CampaignSettings,
    Contact,
    ContactImport,
    DialState,
    DoNotCallEntry,
    RedListEntry,
    WorkOrder,
)
from outbound.selectors import orders_visible_to

_E164 = re.compile(r"\+\d{1,19}")
# Enough numbers per query to be fast, few enough for any database's parameter limit.
_CHUNK = 5000


class Exclusion(TextChoices):
    DO_NOT_CALL = "do_not_call", _("On the do-not-call list")
    RED_LIST = "red_list", _("On the red list")


def _phone_in(phones: list[str]):
    """`phone IN (...)`; on PostgreSQL one array parameter, which keeps a query for
    thousands of numbers as quick to send and plan as one for a few."""
    if connection.vendor == "postgresql":
        # One text parameter is far quicker to send than an array of thousands; numbers in
        # E.164 are '+' and digits, safe inside its braces, and nothing else gets in.
        literal = "{" + ",".join(p for p in phones if _E164.fullmatch(p)) + "}"
        return RawSQL('"phone" = ANY(%s::varchar[])', (literal,), output_field=BooleanField())
    return Q(phone__in=phones)


def _campaign_id(campaign) -> int | None:
    if campaign is None:
        return None
    return campaign.pk if isinstance(campaign, WorkOrder) else int(campaign)


def excluded_numbers(
    *, campaign, phones: Iterable[str], on_date: datetime.date | None = None
) -> dict[str, str]:
    """The numbers among `phones` that must not be called in `campaign` (a WorkOrder, its
    id, or None for the global lists only) on `on_date` (today by default), each with the
    reason, an `Exclusion` value. The do-not-call list wins over the red list. Numbers are
    matched in E.164; the keys are the numbers as given."""
    given: dict[str, list[str]] = {}
    for phone in phones:
        normal = normalise_phone(phone)
        if normal:
            given.setdefault(normal, []).append(phone)
    found = excluded_e164(campaign=campaign, phones=list(given), on_date=on_date)
    return {original: reason for phone, reason in found.items() for original in given[phone]}


def excluded_e164(
    *, campaign, phones: list[str], on_date: datetime.date | None = None
) -> dict[str, str]:
    """`excluded_numbers` for numbers already in E.164, keyed by them."""
    on_date = on_date or timezone.localdate()
    campaign_id = _campaign_id(campaign)
    if not phones:
        return {}
    scope = Q(campaign__isnull=True)
    if campaign_id is not None:
        scope |= Q(campaign_id=campaign_id)
    found: dict[str, str] = {}
    for start in range(0, len(phones), _CHUNK):
        chunk = phones[start : start + _CHUNK]
        for phone in (
            RedListEntry.objects.active()
            .filter(_phone_in(chunk), starts_on__lte=on_date, ends_on__gte=on_date)
            .values_list("phone", flat=True)
        ):
            found[phone] = Exclusion.RED_LIST
        for phone in (
            DoNotCallEntry.objects.active()
            .filter(scope, _phone_in(chunk))
            .values_list("phone", flat=True)
        ):
            found[phone] = Exclusion.DO_NOT_CALL
    return found


def exclusion_reason(*, campaign, phone: str, on_date: datetime.date | None = None) -> str | None:
    """Why `phone` must not be called in `campaign` on `on_date`, or None if it may be."""
    return excluded_numbers(campaign=campaign, phones=[phone], on_date=on_date).get(phone)


def is_excluded(*, campaign, phone: str, on_date: datetime.date | None = None) -> bool:
    """Whether `phone` is on the do-not-call list (global or the campaign's) or on the red
    list with a period covering `on_date` (today by default)."""
    return exclusion_reason(campaign=campaign, phone=phone, on_date=on_date) is not None


def can_manage_contacts(*, user, campaign: WorkOrder) -> bool:
    """Outbound administrators and the order's requester manage its contacts."""
    return bool(
        user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN) or campaign.requester_id == user.pk
    )


def can_manage_lists(*, user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN))


def campaign_for(*, user, pk: int) -> WorkOrder:
    """The campaign `pk` if `user` can see it (WorkOrder.DoesNotExist otherwise)."""
    return orders_visible_to(user=user).select_related("requester", "department").get(pk=pk)


# The filter for contacts not yet in the dialing queue, beside DialState's statuses.
NOT_QUEUED = "not_queued"


class DeadlineState(TextChoices):
    """Where a complaint callback stands against its deadline, while it is not done."""

    OVERDUE = "overdue", _("Overdue")
    AT_RISK = "at_risk", _("At risk")


def _not_done() -> Q:
    """Still to be called: not queued yet, waiting, or on a call now."""
    return Q(dial_state__isnull=True) | Q(
        dial_state__status__in=(DialState.Status.PENDING, DialState.Status.DIALING)
    )


def _rules_of(campaign: WorkOrder) -> CampaignSettings:
    try:
        return campaign.dialing
    except CampaignSettings.DoesNotExist:
        return CampaignSettings(campaign=campaign)


def calling_days_ahead(campaign: WorkOrder, today: datetime.date) -> list[datetime.date]:
    """The campaign's next WAIHU_DEADLINE_RISK_DAYS + 1 calling days after `today`: the days
    it can actually call (its weekday hours and dates, and the official calendar's public
    holidays unless it calls on them); fewer if it ends before."""
    from outbound.dialer import windows

    return windows.calling_days_after(
        _rules_of(campaign), today, count=settings.WAIHU_DEADLINE_RISK_DAYS + 1
    )


def deadline_filters(
    today: datetime.date | None = None, *, campaign: WorkOrder | None = None
) -> dict[str, Q]:
    """The contacts in each DeadlineState on `today` (today by default): overdue once the
    deadline has passed; at risk while at most WAIHU_DEADLINE_RISK_DAYS of the campaign's
    calling days are left after today before the deadline (without a campaign: that many
    calendar days). Done contacts are neither."""
    today = today or timezone.localdate()
    at_risk = Q(deadline__gte=today) & _not_done()
    if campaign is None:
        margin = today + datetime.timedelta(days=settings.WAIHU_DEADLINE_RISK_DAYS)
        at_risk &= Q(deadline__lte=margin)
    else:
        ahead = calling_days_ahead(campaign, today)
        if len(ahead) > settings.WAIHU_DEADLINE_RISK_DAYS:
            # Safe from the first calling day past the margin on.
            at_risk &= Q(deadline__lt=ahead[settings.WAIHU_DEADLINE_RISK_DAYS])
    return {
        DeadlineState.OVERDUE: Q(deadline__lt=today) & _not_done(),
        DeadlineState.AT_RISK: at_risk,
    }


def has_deadlines(campaign: WorkOrder) -> bool:
    return campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK


def contact_list(
    *,
    campaign: WorkOrder,
    search: str = "",
    status: str = "",
    deadline: str = "",
    ordering: Sequence = (),
    today: datetime.date | None = None,
) -> QuerySet[Contact]:
    """The campaign's contacts with their dialing state; for a complaint callback each
    carries its `deadline_state` (a DeadlineState, or empty)."""
    contacts = Contact.objects.filter(campaign=campaign)
    search = search.strip()
    if search:
        normal = normalise_phone(search)
        query = Q(name__icontains=search) | Q(phone__contains=search.lstrip("+"))
        if normal:
            query |= Q(phone=normal)
        contacts = contacts.filter(query)
    if status == NOT_QUEUED:
        contacts = contacts.filter(dial_state__isnull=True)
    elif status in DialState.Status.values:
        contacts = contacts.filter(dial_state__status=status)
    if has_deadlines(campaign):
        states = deadline_filters(today, campaign=campaign)
        contacts = contacts.annotate(
            deadline_state=Case(
                *(When(condition, then=Value(state)) for state, condition in states.items()),
                default=Value(""),
                output_field=CharField(),
            )
        )
        if deadline in states:
            contacts = contacts.filter(states[deadline])
    return contacts.select_related("dial_state").order_by(*(ordering or ("id",)))


def contact_count_kept(*, campaign: WorkOrder, status: str = "") -> int:
    """How many of the campaign's contacts are in a dialing status (or NOT_QUEUED, or any
    with no status), from the kept counts instead of counting them."""
    from outbound.dialer import counts

    kept = counts.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    total = kept[(counts.CONTACT, "")]
    if status == NOT_QUEUED:
        return total - sum(kept[(counts.STATE, value)] for value in DialState.Status.values)
    if status:
        return kept[(counts.STATE, status)]
    return total


def deadline_counts(*, campaign: WorkOrder, today: datetime.date | None = None) -> dict:
    """{DeadlineState: how many of the campaign's contacts are in it}, in one query; empty
    for a campaign without deadlines."""
    if not has_deadlines(campaign):
        return {}
    return Contact.objects.filter(campaign=campaign).aggregate(
        **{
            state: Count("pk", filter=condition)
            for state, condition in deadline_filters(today, campaign=campaign).items()
        }
    )


def import_list(*, campaign: WorkOrder) -> QuerySet[ContactImport]:
    return ContactImport.objects.filter(campaign=campaign).select_related("uploaded_by")


def import_for(*, user, pk: int) -> ContactImport:
    """The import `pk` if `user` can see its campaign (DoesNotExist otherwise)."""
    return ContactImport.objects.select_related(
        "campaign", "campaign__requester", "uploaded_by"
    ).get(pk=pk, campaign__in=orders_visible_to(user=user))


def _search(entries: QuerySet, search: str) -> QuerySet:
    search = search.strip()
    if not search:
        return entries
    normal = normalise_phone(search)
    query = Q(phone__contains=search.lstrip("+")) | Q(reason__icontains=search)
    if normal:
        query |= Q(phone=normal)
    if entries.model is RedListEntry:
        query |= Q(customer_name__icontains=search)
    return entries.filter(query)


def dnc_list(
    *,
    search: str = "",
    include_removed: bool = False,
    source: str = "",
    scope: str = "",
    ordering: Sequence = (),
) -> QuerySet[DoNotCallEntry]:
    """The do-not-call list; `scope` is "global" for the entries that block a number in
    every campaign, "campaign" for those of one campaign."""
    entries = DoNotCallEntry.objects.all() if include_removed else DoNotCallEntry.objects.active()
    if source:
        entries = entries.filter(source=source)
    if scope == "global":
        entries = entries.filter(campaign__isnull=True)
    elif scope == "campaign":
        entries = entries.filter(campaign__isnull=False)
    entries = _search(entries, search).select_related("campaign", "added_by", "removed_by")
    return entries.order_by(*ordering) if ordering else entries


def red_list(
    *,
    search: str = "",
    include_removed: bool = False,
    period: str = "",
    ordering: Sequence = (),
    today: datetime.date | None = None,
) -> QuerySet[RedListEntry]:
    """The red list; `period` is "current" for the entries that apply `today`, "upcoming"
    for those that start later, "expired" for those that have ended."""
    entries = RedListEntry.objects.all() if include_removed else RedListEntry.objects.active()
    today = today or timezone.localdate()
    if period == "current":
        entries = entries.filter(starts_on__lte=today, ends_on__gte=today)
    elif period == "upcoming":
        entries = entries.filter(starts_on__gt=today)
    elif period == "expired":
        entries = entries.filter(ends_on__lt=today)
    entries = _search(entries, search).select_related("added_by", "removed_by")
    return entries.order_by(*ordering) if ordering else entries
