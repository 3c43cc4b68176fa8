"""Reads for contacts, import jobs and the lists never to call. `excluded_numbers` and
`is_excluded` are what the importer and the dialer ask before a number is stored or dialled."""

import datetime
import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet, TextChoices
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from outbound.contacts.normalise import normalise_phone
from outbound.models import Contact, ContactImport, DoNotCallEntry, RedListEntry, WorkOrder
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


def contact_list(*, campaign: WorkOrder, search: str = "") -> QuerySet[Contact]:
    contacts = Contact.objects.filter(campaign=campaign)
    search = search.strip()
    if search:
        normal = normalise_phone(search)
        query = Q(name__icontains=search) | Q(phone__contains=search.lstrip("+"))
        if normal:
            query |= Q(phone=normal)
        contacts = contacts.filter(query)
    return contacts.order_by("id")


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


def dnc_list(*, search: str = "", include_removed: bool = False) -> QuerySet[DoNotCallEntry]:
    entries = DoNotCallEntry.objects.all() if include_removed else DoNotCallEntry.objects.active()
    return _search(entries, search).select_related("campaign", "added_by", "removed_by")


def red_list(*, search: str = "", include_removed: bool = False) -> QuerySet[RedListEntry]:
    entries = RedListEntry.objects.all() if include_removed else RedListEntry.objects.active()
    return _search(entries, search).select_related("added_by", "removed_by")
