"""Retention under the Personal Information Protection Law: how long a finished campaign's
personal data is kept, what the end of that period would remove (`plan`), and removing it
(`purge`).

A campaign ends when it is stopped; its period runs from that moment and depends on its
kind (WAIHU_RETENTION_DAYS, WAIHU_RETENTION_DAYS_BY_KIND: a kind's period wins over its
mode's, which wins over the default; 0 keeps it for ever). At the end of the period the
uploaded lists and rejected rows, the result workbooks and the recordings are deleted and
the contacts anonymised (outbound/retention.py, reports/retention.py), as are the numbers
the API turned away from a pushed batch; every count and answer stays, so every report
gives the same figures. Each campaign is purged on its own, its contacts a batch per
transaction; a crash leaves the campaign unmarked and the next run does what is left. Once
all is done the campaign is marked (`purged_at`) and the audit trail records it with the
counts, never a number."""

from __future__ import annotations

import datetime
import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from api.models import ContactBatch
from outbound import retention as outbound_retention
from outbound import telephony
from outbound.models import CampaignSettings, ContactImport, Recording, SpokenAnswer, WorkOrder
from reports import retention as reports_retention

logger = logging.getLogger(__name__)


def period_days(*, kind: str, mode: str) -> int:
    """The days a campaign of this kind and mode is kept after it ends (0: for ever)."""
    by_kind = settings.WAIHU_RETENTION_DAYS_BY_KIND
    if kind in by_kind:
        return by_kind[kind]
    return by_kind.get(mode, settings.WAIHU_RETENTION_DAYS)


@dataclass
class CampaignPlan:
    """What the end of retention removes from one campaign."""

    campaign_id: int
    number: str
    title: str
    kind: str
    mode: str
    ended_at: datetime.datetime
    days: int
    contacts: int
    files: int
    workbooks: int
    recordings: int
    bytes: int

    @property
    def due_at(self) -> datetime.datetime:
        return self.ended_at + datetime.timedelta(days=self.days)


def due_campaigns(now: datetime.datetime):
    """The stopped campaigns, not purged yet, whose period has run out by `now`."""
    ended = Q(
        purged_at__isnull=True,
        dialing__state=CampaignSettings.State.STOPPED,
        dialing__state_changed_at__isnull=False,
    )
    due = Q(pk__in=[])
    for kind in WorkOrder.Kind.values:
        for mode in WorkOrder.Mode.values:
            days = period_days(kind=kind, mode=mode)
            if days:
                due |= Q(
                    kind=kind,
                    mode=mode,
                    dialing__state_changed_at__lte=now - datetime.timedelta(days=days),
                )
    return (
        WorkOrder.objects.filter(ended & due)
        .select_related("dialing")
        .order_by("dialing__state_changed_at", "pk")
    )


def campaign_plan(campaign: WorkOrder) -> CampaignPlan:
    files = size = 0
    for job in outbound_retention.imports_with_files(campaign.pk):
        count, nbytes = outbound_retention.import_file_sizes(job)
        files += count
        size += nbytes
    workbooks = list(reports_retention.workbooks_of(campaign))
    size += sum(reports_retention.workbook_size(job) for job in workbooks)
    return CampaignPlan(
        campaign_id=campaign.pk,
        number=campaign.number,
        title=campaign.title,
        kind=campaign.kind,
        mode=campaign.mode,
        ended_at=campaign.dialing.state_changed_at,
        days=period_days(kind=campaign.kind, mode=campaign.mode),
        contacts=outbound_retention.contacts_left(campaign.pk).count(),
        files=files,
        workbooks=len(workbooks),
        recordings=outbound_retention.recordings_left(campaign.pk).count()
        + outbound_retention.spoken_recordings_left(campaign.pk).count(),
        bytes=size,
    )


def plan(now: datetime.datetime | None = None) -> list[CampaignPlan]:
    """What a purge at `now` would remove, campaign by campaign; changes nothing."""
    return [campaign_plan(campaign) for campaign in due_campaigns(now or timezone.now())]


def api_batches_scrub(*, campaign_id: int) -> int:
    """The API keeps each pushed batch's outcome for its idempotency key, with the numbers
    of the rows it turned away: those become hashes too. Returns the batches changed."""
    changed = 0
    for batch in ContactBatch.objects.filter(campaign_id=campaign_id).order_by("pk"):
        rows = (batch.outcome or {}).get("rejected") or []
        if not any(
            isinstance(row, dict)
            and row.get("phone")
            and not outbound_retention.is_anonymised(str(row["phone"]))
            for row in rows
        ):
            continue
        for row in rows:
            if isinstance(row, dict) and row.get("phone"):
                phone = str(row["phone"])
                if not outbound_retention.is_anonymised(phone):
                    row["phone"] = outbound_retention.phone_hash(phone)
        ContactBatch.objects.filter(pk=batch.pk).update(outcome=batch.outcome)
        changed += 1
    return changed


def _totals(campaign: WorkOrder) -> dict[str, int]:
    """What the campaign holds once purged: the figures the audit trail records."""
    imports = ContactImport.objects.filter(campaign_id=campaign.pk)
    return {
        "contacts_anonymised": campaign.contacts.count(),
        "imports_emptied": imports.exclude(files_removed_at=None).count(),
        "recordings_deleted": Recording.objects.filter(
            attempt__campaign_id=campaign.pk, status=Recording.Status.DELETED
        ).count()
        + SpokenAnswer.objects.filter(
            interview__campaign_id=campaign.pk,
            recording_status=outbound_retention.SPOKEN_DELETED,
        ).count(),
    }


def campaign_purge(*, campaign_id: int) -> dict | None:
    """Removes one campaign's files and anonymises its contacts; returns what the audit
    trail recorded, or None when it had been purged already. Safe to run again after a
    crash, and side by side with another run."""
    campaign = WorkOrder.objects.select_related("dialing").get(pk=campaign_id)
    if campaign.purged_at is not None:
        return None
    now = timezone.now()
    recordings = outbound_retention.recordings_delete(campaign_id=campaign.pk)
    files, file_bytes = outbound_retention.imports_remove_files(campaign_id=campaign.pk)
    workbooks, workbook_bytes = reports_retention.workbooks_remove(campaign=campaign)
    contacts = outbound_retention.contacts_anonymise(campaign_id=campaign.pk)
    api_batches_scrub(campaign_id=campaign.pk)
    details = {
        **_totals(campaign),
        "this_run": {
            "contacts": contacts,
            "files": files,
            "workbooks": workbooks,
            "recordings": recordings,
            "bytes": file_bytes + workbook_bytes,
        },
        "days": period_days(kind=campaign.kind, mode=campaign.mode),
        "ended_at": campaign.dialing.state_changed_at,
    }
    with transaction.atomic():
        marked = WorkOrder.objects.filter(pk=campaign.pk, purged_at__isnull=True).update(
            purged_at=now
        )
        if not marked:
            return None
        audit_record(
            user=None,
            action=AuditAction.RETENTION_PURGE,
            target=campaign,
            description=f"{campaign.number} {campaign.title}",
            details=details,
        )
    logger.info("Retention: campaign %s purged (%s)", campaign.pk, details["this_run"])
    return details


@dataclass
class PurgeResult:
    purged: list[int]
    failed: list[int]

    def as_dict(self) -> dict:
        return asdict(self)


def purge(campaigns: list[CampaignPlan]) -> PurgeResult:
    """Purges each planned campaign; one that fails (the carrier out of reach while its
    recordings are deleted) is logged and left for the next run, the others go on."""
    result = PurgeResult(purged=[], failed=[])
    for item in campaigns:
        try:
            if campaign_purge(campaign_id=item.campaign_id) is not None:
                result.purged.append(item.campaign_id)
        except telephony.TelephonyError as error:
            logger.warning("Retention: campaign %s left for later: %s", item.campaign_id, error)
            result.failed.append(item.campaign_id)
    return result
