"""Who may add numbers to a campaign that is already calling.

The outbound administrator starts a campaign with the list it has then: starting is the
administrator's acceptance of those contacts. Contacts added later, by an uploaded list
or a batch pushed through the API, are held as one batch (ContactHold): the dialer's
queue leaves them out, so no call, agent or voice survey reaches them, until an outbound
administrator accepts the batch; declined, they are removed. Without this a requester
could slip any number into a running campaign and have it called within seconds.

An outbound administrator's own list is not held: the one who would accept it added it.
Whether a list is late is decided as its rows begin to be stored; its rows join the queue
only once it has finished, and if the campaign started meanwhile, the list is held then
(under a lock on the campaign's settings row, which the start takes too)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditAction, audit_record
from accounts.roles import Role
from outbound.models import CampaignSettings, Contact, ContactHold, ContactImport, WorkOrder

Status = ContactHold.Status


def can_accept(*, user) -> bool:
    """Outbound administrators accept or decline held contacts."""
    return bool(user is not None and (user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN)))


def _started(campaign_id: int) -> bool:
    """Whether the outbound administrator has started the campaign (it may be paused or
    stopped since): contacts added from then on are held. The settings row stays locked
    until the caller's transaction ends: a start waits for it, or it for the start."""
    rows = CampaignSettings.objects.filter(pk=campaign_id).select_for_update()
    state = rows.values_list("state", flat=True).first()
    return state is not None and state != CampaignSettings.State.NOT_STARTED


def hold_open(
    *,
    campaign: WorkOrder,
    source: str,
    label: str,
    added_by=None,
    contact_import: ContactImport | None = None,
) -> ContactHold | None:
    """A hold for contacts about to be added to `campaign`, or None when they need none
    (the campaign has not started, or an outbound administrator adds them)."""
    if can_accept(user=added_by):
        return None
    with transaction.atomic():
        if not _started(campaign.pk):
            return None
        return ContactHold.objects.create(
            campaign=campaign,
            source=source,
            label=label[:255],
            added_by=added_by,
            contact_import=contact_import,
        )


def hold_count(*, hold: ContactHold) -> int:
    """Records how many contacts the hold holds, once they are all stored."""
    count = Contact.objects.filter(hold=hold).count()
    ContactHold.objects.filter(pk=hold.pk).update(contacts_count=count)
    hold.contacts_count = count
    return count


def hold_notify(*, hold: ContactHold) -> None:
    """E-mails the outbound administrators, once this commits, that contacts wait."""
    from outbound.contacts.tasks import contact_hold_notify

    if hold.contacts_count:
        transaction.on_commit(lambda: contact_hold_notify.delay(hold.pk))


def hold_import_finish(*, job: ContactImport, hold: ContactHold | None) -> ContactHold | None:
    """Called in the transaction that marks the import finished. A list not held when it
    began, into a campaign started while it was being stored, is held now: its rows, kept
    out of the queue while it ran, are marked with the hold (a row-by-row update, but
    only in this rare case)."""
    if (
        hold is None
        and not can_accept(user=job.uploaded_by)
        # A campaign without a settings row has never been on its page, where it starts.
        and _started(job.campaign_id)
    ):
        hold = ContactHold.objects.create(
            campaign_id=job.campaign_id,
            source=ContactHold.Source.IMPORT,
            label=job.original_name[:255],
            added_by=job.uploaded_by,
            contact_import=job,
        )
        Contact.objects.filter(source_import=job, hold__isnull=True).update(hold=hold)
    if hold is not None:
        hold_count(hold=hold)
        hold_notify(hold=hold)
    return hold


def held_ids(*, campaign_id: int) -> list[int]:
    """The campaign's holds still waiting: their contacts are not to be dialled."""
    return list(
        ContactHold.objects.filter(campaign_id=campaign_id, status=Status.HELD).values_list(
            "pk", flat=True
        )
    )


def queueable(contacts, *, campaign_id: int):
    """`contacts` (of the campaign) less those that may not join the dialing queue yet:
    those of a list still being imported, and those of a hold still waiting. The lists
    are read first: a list that finishes held between the two reads is still left out."""
    importing = list(
        ContactImport.objects.filter(
            campaign_id=campaign_id,
            status__in=(ContactImport.Status.QUEUED, ContactImport.Status.RUNNING),
        ).values_list("pk", flat=True)
    )
    held = held_ids(campaign_id=campaign_id)
    if importing:
        contacts = contacts.exclude(source_import_id__in=importing)
    if held:
        contacts = contacts.exclude(hold_id__in=held)
    return contacts


def holds_shown(*, campaign: WorkOrder, limit: int = 10):
    """The campaign's holds waiting, then the latest decided, for its pages."""
    rows = ContactHold.objects.filter(campaign=campaign).select_related(
        "added_by", "decided_by", "contact_import"
    )
    waiting = list(rows.filter(status=Status.HELD).order_by("created_at", "id")[:limit])
    decided = list(rows.exclude(status=Status.HELD).order_by("-decided_at", "-id")[:limit])
    return waiting, decided


def _check(hold: ContactHold, user) -> None:
    if not can_accept(user=user):
        raise PermissionDenied(_("Only outbound administrators accept or decline contacts."))
    if (
        hold.contact_import_id is not None
        and ContactImport.objects.filter(
            pk=hold.contact_import_id,
            status__in=(ContactImport.Status.QUEUED, ContactImport.Status.RUNNING),
        ).exists()
    ):
        raise ValidationError(_("The list is still being imported: decide once it has finished."))


def _decide(hold: ContactHold, user, status: str) -> bool:
    """Moves the hold on from waiting; False when someone else decided first."""
    return bool(
        ContactHold.objects.filter(pk=hold.pk, status=Status.HELD).update(
            status=status, decided_at=timezone.now(), decided_by=user
        )
    )


def _already_decided(hold: ContactHold) -> ValidationError:
    hold.refresh_from_db()
    if hold.status == Status.ACCEPTED:
        return ValidationError(_("These contacts were already accepted."))
    return ValidationError(_("These contacts were already declined."))


def hold_accept(*, hold: ContactHold, user) -> ContactHold:
    """The held contacts join the dialer's queue at its next tick: one UPDATE, however
    many they are."""
    _check(hold, user)
    with transaction.atomic():
        if not _decide(hold, user, Status.ACCEPTED):
            raise _already_decided(hold)
        audit_record(
            user=user,
            action=AuditAction.CONTACTS_ACCEPT,
            target=hold.campaign,
            description=hold.label,
            details={"hold": hold.pk, "source": hold.source, "contacts": hold.contacts_count},
        )
    hold.refresh_from_db()
    return hold


def hold_decline(*, hold: ContactHold, user) -> ContactHold:
    """The held contacts are removed; the import they came with counts them no more as
    imported, and the hold keeps how many were removed."""
    _check(hold, user)
    with transaction.atomic():
        if not _decide(hold, user, Status.DECLINED):
            raise _already_decided(hold)
        removed = _remove_contacts(hold)
        ContactHold.objects.filter(pk=hold.pk).update(contacts_count=removed)
        if hold.contact_import_id is not None:
            ContactImport.objects.filter(pk=hold.contact_import_id).update(
                imported=Greatest(F("imported") - removed, 0)
            )
        audit_record(
            user=user,
            action=AuditAction.CONTACTS_DECLINE,
            target=hold.campaign,
            description=hold.label,
            details={"hold": hold.pk, "source": hold.source, "contacts": removed},
        )
    hold.refresh_from_db()
    return hold


def _remove_contacts(hold: ContactHold) -> int:
    """Deletes the held contacts in one statement. Django's delete would load every row to
    follow the relations, but a held contact was never queued, called or interviewed:
    nothing refers to it (the database's foreign keys would refuse the delete otherwise)."""
    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE hold_id = %s", [hold.pk])  # noqa: S608
        return cursor.rowcount
