"""Contacts pushed by another system: the same rules as an uploaded list (ContactRules),
stored the same way, once per idempotency key; a batch pushed once the campaign has
started waits for an outbound administrator's acceptance, as a late list does."""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from api.errors import ApiError
from api.models import ContactBatch, Integration
from outbound.contacts import acceptance
from outbound.contacts.importer import contact_writer
from outbound.contacts.rules import ContactRules, DateSource, RejectReason
from outbound.models import ContactHold, WorkOrder
from outbound.models.contacts import FIELD_MAX_LENGTH

MAX_BATCH = 10_000
TEXT_FIELDS = ("name", "brand", "region", "segment")


def _digest(contacts: list[dict]) -> str:
    canonical = json.dumps(contacts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def contacts_push(
    *, integration: Integration, campaign: WorkOrder, key: str, contacts: list[dict]
) -> tuple[dict, bool]:
    """The batch's outcome, and whether it is the stored outcome of an earlier push with
    the same key (which changes nothing)."""
    digest = _digest(contacts)
    earlier = _earlier(integration, campaign, key, digest)
    if earlier is not None:
        return earlier, True
    if campaign.run_status != WorkOrder.RunStatus.READY:
        raise ApiError(
            409, "campaign_not_ready", _("Contacts can be added once the order is approved.")
        )
    if campaign.purged_at is not None:
        raise ApiError(
            409,
            "campaign_purged",
            _(
                "The campaign's personal data was removed at the end of retention: it takes "
                "no more contacts."
            ),
        )
    if len(contacts) > MAX_BATCH:
        raise ApiError(
            413,
            "batch_too_large",
            _("At most %(n)d contacts a batch.") % {"n": MAX_BATCH},
            "contacts",
        )
    try:
        with transaction.atomic():
            batch = ContactBatch.objects.create(
                integration=integration,
                campaign=campaign,
                idempotency_key=key,
                digest=digest,
                rows=len(contacts),
            )
            hold = acceptance.hold_open(
                campaign=campaign,
                source=ContactHold.Source.API,
                label=f"{integration.name} · {key}",
            )
            outcome = _store(campaign, contacts, hold)
            batch.accepted = outcome["accepted"]
            batch.outcome = outcome
            batch.save(update_fields=["accepted", "outcome"])
    except IntegrityError:
        # The same batch, pushed twice at once: the other push stored it.
        earlier = _earlier(integration, campaign, key, digest)
        if earlier is None:
            raise
        return earlier, True
    return outcome, False


def _earlier(integration, campaign, key, digest) -> dict | None:
    batch = ContactBatch.objects.filter(
        integration=integration, campaign=campaign, idempotency_key=key
    ).first()
    if batch is None:
        return None
    if batch.digest != digest:
        raise ApiError(
            409,
            "idempotency_key_reused",
            _("This idempotency key was used for a different batch."),
            "Idempotency-Key",
        )
    return batch.outcome


def rejected_message(row: dict) -> str:
    """A rejected contact's reason in the caller's language: a duplicate names the index
    of the contact in the batch it repeats, as `index` names the rejected one."""
    duplicate_of = row.get("duplicate_of")
    if row["reason"] == RejectReason.DUPLICATE_IN_FILE and duplicate_of is not None:
        return _("Same number as the contact at index %(index)s") % {"index": duplicate_of}
    return str(RejectReason(row["reason"]).label)


def _store(campaign: WorkOrder, contacts: list[dict], hold: ContactHold | None) -> dict:
    rules = ContactRules(
        campaign=campaign,
        deadline_days=settings.WAIHU_COMPLAINT_CALLBACK_DAYS,
        date_source=DateSource.EITHER,
        date_required=campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK,
    )
    indexes = list(range(len(contacts)))
    screened = rules.screen(
        indexes,
        [c.get("phone") for c in contacts],
        [c.get("deadline") for c in contacts],
        [c.get("feedback_at") for c in contacts],
        indexes,
    )
    writer = contact_writer(campaign.pk, hold_id=hold and hold.pk)
    add = writer.add
    for index, phone, deadline in screened.accepted:
        contact = contacts[index]
        texts = [(contact.get(f) or "").strip()[:FIELD_MAX_LENGTH] for f in TEXT_FIELDS]
        attributes = {str(k): str(v) for k, v in (contact.get("attributes") or {}).items()}
        add(phone, *texts, attributes, deadline)
    writer.flush()
    rejected = sorted(
        (
            {
                "index": index,
                "phone": contacts[index].get("phone"),
                "reason": reason,
                "duplicate_of": duplicate_of,
            }
            for index, reason, duplicate_of in screened.rejected
        ),
        key=lambda row: row["index"],
    )
    for row in rejected:
        row["message"] = rejected_message(row)
    # A number another list stored after the rules looked is caught by the unique index.
    lost = len(screened.accepted) - writer.inserted
    held = False
    if hold is not None:
        if acceptance.hold_count(hold=hold):
            held = True
            acceptance.hold_notify(hold=hold)
        else:
            hold.delete()  # nothing stored: nothing to decide
    return {
        "received": len(contacts),
        "accepted": writer.inserted,
        "already_in_campaign_meanwhile": lost,
        "rejected": rejected,
        "awaiting_acceptance": held,
    }
