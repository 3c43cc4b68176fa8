"""Writes for contact lists and the lists never to call."""

import datetime
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.audit import AuditAction, audit_record
from outbound.contacts.importer import (
    TARGETS,
    build_rejects_workbook,
    counts_dict,
    import_into_job,
    rejects_spool_path,
)
from outbound.contacts.normalise import normalise_phone
from outbound.contacts.readers import UnreadableFile, cell_text, file_format, open_table
from outbound.contacts.selectors import can_manage_contacts
from outbound.models import ContactImport, DoNotCallEntry, RedListEntry, WorkOrder

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
DEFAULT_DEADLINE_DAYS = getattr(settings, "WAIHU_COMPLAINT_CALLBACK_DAYS", 7)


# --- contact imports -------------------------------------------------------------------


def check_can_import(*, user, campaign: WorkOrder) -> None:
    if not can_manage_contacts(user=user, campaign=campaign):
        raise PermissionDenied(
            _("Only the outbound administrators and the requester manage this list.")
        )
    if campaign.run_status != WorkOrder.RunStatus.READY:
        raise PermissionDenied(_("Contacts can be added once the order is approved."))


def import_create(*, campaign: WorkOrder, user, upload) -> ContactImport:
    """A contact list uploaded to `campaign`: stored, its columns and first rows read."""
    check_can_import(user=user, campaign=campaign)
    fmt = file_format(upload.name)
    if fmt is None:
        raise ValidationError({"file": _("Upload a .xlsx or .csv file.")})
    job = ContactImport(
        campaign=campaign,
        uploaded_by=user,
        original_name=Path(upload.name).name[:255],
        file_format=fmt,
        deadline_days=DEFAULT_DEADLINE_DAYS,
    )
    job.file.save(Path(upload.name).name, upload, save=False)
    try:
        with open_table(job.file.path, fmt) as table:
            job.header = table.header
            job.encoding = table.encoding
            job.delimiter = table.delimiter
            preview = []
            for row in table.rows():
                preview.append([cell_text(cell) for cell in row[: len(table.header)]])
                if len(preview) >= PREVIEW_ROWS:
                    break
            job.preview = preview
    except (UnreadableFile, UnicodeError, OSError) as error:
        job.file.delete(save=False)
        message = str(error) if isinstance(error, UnreadableFile) else None
        raise ValidationError({"file": message or _("This file cannot be read.")}) from error
    job.save()
    return job


def guess_mapping(header: list[str]) -> dict[str, int]:
    """Columns whose names say what they hold, for the mapping form's first choice."""
    words = {
        "phone": ("phone", "mobile", "tel", "number", "手机", "电话", "号码", "联系方式"),
        "name": ("name", "姓名", "客户名", "用户名", "客户"),
        "brand": ("brand", "品牌"),
        "region": ("region", "city", "area", "地市", "地区", "区域", "城市", "归属"),
        "segment": ("segment", "group", "type", "细分", "群体", "客户类型", "类别", "分群"),
        "deadline": ("deadline", "截止", "期限"),
        "feedback_date": ("feedback", "反馈", "投诉时间", "投诉日期"),
    }
    found: dict[str, int] = {}
    for target in TARGETS:
        for index, label in enumerate(header):
            lowered = label.lower()
            if index not in found.values() and any(word in lowered for word in words[target]):
                found[target] = index
                break
    return found


def import_start(
    *, job: ContactImport, user, mapping: dict[str, int], deadline_days: int
) -> ContactImport:
    """The columns mapped: the job is queued and its task sent once this commits."""
    from ops.outbox import enqueue
    from outbound.contacts.tasks import contact_import_run

    check_can_import(user=user, campaign=job.campaign)
    mapping = {target: int(index) for target, index in mapping.items() if index is not None}
    errors = {}
    if "phone" not in mapping:
        errors["phone"] = _("Choose the column that holds the phone numbers.")
    unknown = [t for t, i in mapping.items() if t not in TARGETS or not 0 <= i < len(job.header)]
    if unknown:
        errors[unknown[0]] = _("Choose one of the file's columns.")
    used: dict[int, str] = {}
    for target, index in mapping.items():
        if index in used:
            errors[target] = _("This column is already used for another field.")
        used[index] = target
    if "deadline" in mapping and "feedback_date" in mapping:
        errors["feedback_date"] = _("Map either the deadline or the feedback date, not both.")
    if job.campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK and not (
        {"deadline", "feedback_date"} & set(mapping)
    ):
        errors["feedback_date"] = _(
            "A complaint callback needs each contact's feedback date or deadline."
        )
    if not 0 < deadline_days <= 365:
        errors["deadline_days"] = _("Enter a number of days between 1 and 365.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        changed = ContactImport.objects.filter(
            pk=job.pk, status=ContactImport.Status.UPLOADED
        ).update(mapping=mapping, deadline_days=deadline_days, status=ContactImport.Status.QUEUED)
        if changed != 1:
            raise ValidationError(_("This list is already being imported."))
        enqueue(contact_import_run, job.pk)
    job.refresh_from_db()
    return job


def import_run(*, import_id: int) -> ContactImport | None:
    """Runs a queued import to its end; a job another worker took is left alone. The
    rejected rows' workbook is built by a task of its own once the counts are in."""
    from outbound.contacts.tasks import contact_import_rejects

    claimed = ContactImport.objects.filter(pk=import_id, status=ContactImport.Status.QUEUED).update(
        status=ContactImport.Status.RUNNING, started_at=timezone.now()
    )
    if claimed != 1:
        return None
    job = ContactImport.objects.select_related("campaign", "uploaded_by").get(pk=import_id)

    def report(counts, progress: float) -> None:
        ContactImport.objects.filter(pk=import_id).update(
            progress=round(min(progress, 0.99), 4), **counts_dict(counts)
        )

    try:
        counts, spool = import_into_job(job, report=report)
    except UnreadableFile as error:
        return _import_failed(job, str(error))
    except Exception:
        logger.exception("Contact import %s failed", import_id)
        return _import_failed(job, _("The import stopped because of an internal error."))
    with transaction.atomic():
        ContactImport.objects.filter(pk=import_id).update(
            status=ContactImport.Status.DONE,
            progress=1.0,
            finished_at=timezone.now(),
            **counts_dict(counts),
        )
        if spool is not None:
            transaction.on_commit(lambda: contact_import_rejects.delay(import_id))
    job.refresh_from_db()
    return job


def import_build_rejects(*, import_id: int) -> ContactImport | None:
    """The finished import's rejected rows as a workbook, in the uploader's language."""
    job = ContactImport.objects.select_related("uploaded_by").get(pk=import_id)
    spool = rejects_spool_path(job)
    if job.rejects_file or not spool.exists():
        return None
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / f"rejected-{job.pk}.xlsx"
        with translation.override(job.uploaded_by.language or settings.LANGUAGE_CODE):
            build_rejects_workbook(spool, job.header, target)
        with open(target, "rb") as handle:
            job.rejects_file.save(target.name, File(handle), save=False)
    ContactImport.objects.filter(pk=import_id).update(rejects_file=job.rejects_file.name)
    spool.unlink(missing_ok=True)
    return job


def _import_failed(job: ContactImport, message: str) -> ContactImport:
    ContactImport.objects.filter(pk=job.pk).update(
        status=ContactImport.Status.FAILED, error=message, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


# --- the do-not-call list ----------------------------------------------------------------


_E164 = re.compile(r"\+[1-9]\d{6,14}")


def _normalised_or_error(phone: str, *, held: bool = False) -> str:
    normal = normalise_phone(phone)
    if normal is None and held and _E164.fullmatch(phone or ""):
        # A number Waihu already holds (a contact's) is kept as it is: it was checked when
        # it came in, and a customer's "do not call me" must never be lost to a stricter
        # reading of the numbering plan since.
        return phone
    if normal is None:
        raise ValidationError({"phone": _("Enter a valid phone number.")})
    return normal


def dnc_add(
    *,
    phone: str,
    reason: str = "",
    source: str,
    campaign: WorkOrder | None = None,
    added_by=None,
    held: bool = False,
) -> DoNotCallEntry:
    """`phone` on the do-not-call list, everywhere or in `campaign` only. Adding a number
    already listed there returns the existing entry. `held`: the number is one Waihu
    already holds (a contact's, in E.164), taken as it is."""
    normal = _normalised_or_error(phone, held=held)
    if source not in DoNotCallEntry.Source.values:
        raise ValidationError({"source": _("Unknown source.")})
    existing = DoNotCallEntry.objects.active().filter(phone=normal, campaign=campaign).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            entry = DoNotCallEntry.objects.create(
                phone=normal,
                campaign=campaign,
                reason=reason[:255],
                source=source,
                added_by=added_by,
            )
            audit_record(
                user=added_by,
                action=AuditAction.DNC_ADD,
                target=entry,
                details={"campaign": campaign, "source": source},
            )
            return entry
    except IntegrityError:
        # Somebody listed the same number a moment before us: theirs stands.
        return DoNotCallEntry.objects.active().get(phone=normal, campaign=campaign)


def dnc_remove(*, entry: DoNotCallEntry, user) -> bool:
    """The entry stops blocking the number; it is kept with who removed it and when."""
    removed = bool(
        DoNotCallEntry.objects.filter(pk=entry.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=user
        )
    )
    if removed:
        audit_record(user=user, action=AuditAction.DNC_REMOVE, target=entry)
    return removed


# --- the red list --------------------------------------------------------------------------


def one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def validate_red_list_period(starts_on: datetime.date, ends_on: datetime.date) -> None:
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end date cannot be before the start date.")})
    if ends_on > one_year_after(starts_on):
        raise ValidationError(
            {"ends_on": _("A red-list entry lasts at most one year from its start.")}
        )


def red_list_add(
    *,
    phone: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    customer_name: str = "",
    reason: str = "",
    added_by=None,
) -> RedListEntry:
    normal = _normalised_or_error(phone)
    validate_red_list_period(starts_on, ends_on)
    entry = RedListEntry.objects.create(
        phone=normal,
        customer_name=customer_name[:100],
        reason=reason[:255],
        starts_on=starts_on,
        ends_on=ends_on,
        added_by=added_by,
    )
    audit_record(
        user=added_by,
        action=AuditAction.RED_LIST_ADD,
        target=entry,
        details={"starts_on": starts_on, "ends_on": ends_on},
    )
    return entry


def red_list_remove(*, entry: RedListEntry, user) -> bool:
    removed = bool(
        RedListEntry.objects.filter(pk=entry.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=user
        )
    )
    if removed:
        audit_record(user=user, action=AuditAction.RED_LIST_REMOVE, target=entry)
    return removed


# --- uploads of either list ----------------------------------------------------------------

_PHONE_WORDS = ("phone", "mobile", "tel", "number", "手机", "电话", "号码")
_REASON_WORDS = ("reason", "原因", "备注", "note")
_NAME_WORDS = ("name", "customer", "姓名", "客户")


def _column(header: list[str], words: tuple[str, ...]) -> int | None:
    for index, label in enumerate(header):
        if any(word in label.lower() for word in words):
            return index
    return None


@contextmanager
def _upload_path(upload) -> Iterator[Path]:
    """A path to the uploaded file, copying it to disk when it is still in memory."""
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    suffix = Path(upload.name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        upload.seek(0)
        shutil.copyfileobj(upload, handle)
        handle.flush()
        yield Path(handle.name)


def _read_list(upload, columns: dict[str, int | None]) -> Iterator[tuple[str | None, list]]:
    """(normalised phone or None, row) for each row of an uploaded list. The phone is in the
    column named like one, or else the first; `columns` gets the index of the columns named
    like a reason or a name (a list without a header row has neither)."""
    fmt = file_format(upload.name)
    if fmt is None:
        raise ValidationError({"file": _("Upload a .xlsx or .csv file.")})
    with _upload_path(upload) as path:
        try:
            with open_table(path, fmt) as table:
                header = table.header
                phone_index = _column(header, _PHONE_WORDS) or 0
                if normalise_phone(header[phone_index]) is not None:
                    columns.update(reason=None, name=None)
                    yield normalise_phone(header[phone_index]), header
                else:
                    columns.update(
                        reason=_column(header, _REASON_WORDS), name=_column(header, _NAME_WORDS)
                    )
                for row in table.rows():
                    raw = row[phone_index] if phone_index < len(row) else None
                    yield normalise_phone(raw), row
        except UnreadableFile as error:
            raise ValidationError({"file": str(error)}) from error


def _text(row: list, index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return cell_text(row[index]).strip()


def dnc_upload(
    *, upload, reason: str = "", campaign: WorkOrder | None = None, added_by=None
) -> dict[str, int]:
    """Every number of an uploaded list on the do-not-call list; returns the counts."""
    counts = {"read": 0, "added": 0, "already": 0, "invalid": 0}
    existing = set(
        DoNotCallEntry.objects.active().filter(campaign=campaign).values_list("phone", flat=True)
    )
    pending: list[DoNotCallEntry] = []
    columns: dict[str, int | None] = {}
    with transaction.atomic():
        for phone, row in _read_list(upload, columns):
            counts["read"] += 1
            if phone is None:
                counts["invalid"] += 1
                continue
            if phone in existing:
                counts["already"] += 1
                continue
            existing.add(phone)
            pending.append(
                DoNotCallEntry(
                    phone=phone,
                    campaign=campaign,
                    reason=(_text(row, columns["reason"]) or reason)[:255],
                    source=DoNotCallEntry.Source.UPLOAD,
                    added_by=added_by,
                )
            )
            if len(pending) >= 2000:
                DoNotCallEntry.objects.bulk_create(pending)
                counts["added"] += len(pending)
                pending = []
        DoNotCallEntry.objects.bulk_create(pending)
        counts["added"] += len(pending)
        audit_record(
            user=added_by,
            action=AuditAction.DNC_UPLOAD,
            description=upload.name,
            details={**counts, "campaign": campaign},
        )
    return counts


def red_list_upload(
    *,
    upload,
    starts_on: datetime.date,
    ends_on: datetime.date,
    reason: str = "",
    added_by=None,
) -> dict[str, int]:
    """Every number of an uploaded list on the red list for one period; a number already
    listed until that date or later is left as it is."""
    validate_red_list_period(starts_on, ends_on)
    counts = {"read": 0, "added": 0, "already": 0, "invalid": 0}
    covered = set(
        RedListEntry.objects.active()
        .filter(starts_on__lte=starts_on, ends_on__gte=ends_on)
        .values_list("phone", flat=True)
    )
    pending: list[RedListEntry] = []
    columns: dict[str, int | None] = {}
    with transaction.atomic():
        for phone, row in _read_list(upload, columns):
            counts["read"] += 1
            if phone is None:
                counts["invalid"] += 1
                continue
            if phone in covered:
                counts["already"] += 1
                continue
            covered.add(phone)
            pending.append(
                RedListEntry(
                    phone=phone,
                    customer_name=_text(row, columns["name"])[:100],
                    reason=(_text(row, columns["reason"]) or reason)[:255],
                    starts_on=starts_on,
                    ends_on=ends_on,
                    added_by=added_by,
                )
            )
            if len(pending) >= 2000:
                RedListEntry.objects.bulk_create(pending)
                counts["added"] += len(pending)
                pending = []
        RedListEntry.objects.bulk_create(pending)
        counts["added"] += len(pending)
        audit_record(
            user=added_by,
            action=AuditAction.RED_LIST_UPLOAD,
            description=upload.name,
            details={**counts, "starts_on": starts_on, "ends_on": ends_on},
        )
    return counts
