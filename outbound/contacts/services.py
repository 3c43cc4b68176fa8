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
from django.db.models import ProtectedError, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.audit import AuditAction, audit_record
from outbound.contacts import acceptance
from outbound.contacts.importer import (
    TARGETS,
    Counts,
    build_rejects_workbook,
    counts_dict,
    import_into_job,
    rejects_spool_path,
)
from outbound.contacts.normalise import normalise_phone
from outbound.contacts.readers import UnreadableFile, cell_text, file_format, open_table
from outbound.contacts.selectors import can_manage_contacts
from outbound.models import (
    Contact,
    ContactHold,
    ContactImport,
    DoNotCallEntry,
    RedListEntry,
    WorkOrder,
)

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
    if campaign.purged_at is not None:
        raise PermissionDenied(
            _(
                "The campaign's personal data was removed at the end of retention: it takes no "
                "more contacts."
            )
        )


def import_create(*, campaign: WorkOrder, user, upload) -> ContactImport:
    """A contact list uploaded to `campaign`: stored with its job, whose columns and first
    rows a worker reads (`import_inspect`). The request never parses the file: a hostile
    one costs a worker, held to the import's limits, not the web process. The reading is
    handed over through the outbox, so a broker that is down delays it, never loses it."""
    from ops.outbox import enqueue
    from outbound.contacts.tasks import contact_import_inspect

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
        status=ContactImport.Status.READING,
    )
    with transaction.atomic():
        job.file.save(Path(upload.name).name, upload, save=False)
        job.save()
        enqueue(contact_import_inspect, job.pk)
    return job


def import_inspect(*, import_id: int) -> ContactImport | None:
    """Reads an uploaded list's columns, encoding and first rows, held to the import's
    limits over the whole file (a NUL byte or mixed encodings anywhere in a CSV, a
    workbook that expands too far); a list that cannot be imported fails here, with the
    reason, before anybody maps its columns."""
    job = ContactImport.objects.filter(pk=import_id, status=ContactImport.Status.READING).first()
    if job is None:
        return None
    try:
        with open_table(job.file.path, job.file_format) as table:
            header, encoding, delimiter = table.header, table.encoding, table.delimiter
            preview = []
            for row in table.rows():
                preview.append([cell_text(cell) for cell in row[: len(header)]])
                if len(preview) >= PREVIEW_ROWS:
                    break
    except UnreadableFile as error:
        return _inspect_failed(job, str(error), error.row)
    except (UnicodeError, OSError) as error:
        logger.warning("Contact list %s cannot be read: %s", import_id, error)
        return _inspect_failed(job, _("This file cannot be read."), None)
    ContactImport.objects.filter(pk=import_id, status=ContactImport.Status.READING).update(
        header=header,
        encoding=encoding,
        delimiter=delimiter,
        preview=preview,
        status=ContactImport.Status.UPLOADED,
    )
    job.refresh_from_db()
    return job


def _inspect_failed(job: ContactImport, message: str, row: int | None) -> ContactImport:
    ContactImport.objects.filter(pk=job.pk, status=ContactImport.Status.READING).update(
        status=ContactImport.Status.FAILED,
        error=message,
        error_row=row,
        finished_at=timezone.now(),
    )
    # Nothing of a list refused is kept.
    job.file.delete(save=False)
    ContactImport.objects.filter(pk=job.pk).update(file=job.file.name or "")
    job.refresh_from_db()
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


def _stale_before():
    return timezone.now() - datetime.timedelta(seconds=settings.WAIHU_IMPORT_STALE_SECONDS)


def _claimable() -> Q:
    """A job to run: queued, or running with a heartbeat stopped (its worker died; the
    broker hands its task over again, or the sweep queued it again)."""
    running = ContactImport.Status.RUNNING
    return Q(status=ContactImport.Status.QUEUED) | Q(
        status=running, heartbeat_at__lt=_stale_before()
    )


class _Superseded(Exception):
    """Another run took the job over (this one was thought dead): its work is dropped."""


def import_run(*, import_id: int) -> ContactImport | None:
    """Runs a queued import to its end, all or nothing: the contacts and the job's final
    counts are committed together. A job another worker is running is left alone; one
    whose worker died is taken up and run again from the start (nothing of the first run
    was published), at most WAIHU_IMPORT_MAX_ATTEMPTS times in all. The rejected rows'
    workbook is built by a task of its own once the counts are in."""
    from outbound.contacts.tasks import contact_import_rejects

    with transaction.atomic():
        job = (
            ContactImport.objects.select_for_update()
            .filter(_claimable(), pk=import_id)
            .select_related("campaign", "uploaded_by")
            .first()
        )
        if job is None:
            return None
        now = timezone.now()
        attempt = job.attempts + 1
        if attempt > settings.WAIHU_IMPORT_MAX_ATTEMPTS:
            if not _remove_leftovers(import_id):
                return _import_failed(job, _called_message(), attempt=job.attempts)
            return _import_failed(job, _interrupted_message(), attempt=job.attempts)
        ContactImport.objects.filter(pk=import_id).update(
            status=ContactImport.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            attempts=attempt,
            progress=0.0,
            error="",
            error_row=None,
            **counts_dict(Counts()),
        )
        if not _remove_leftovers(import_id):
            return _import_failed(job, _called_message(), attempt=attempt)
    job.refresh_from_db()
    mine = ContactImport.objects.filter(
        pk=import_id, status=ContactImport.Status.RUNNING, attempts=attempt
    )

    def report(counts, progress: float) -> None:
        mine.update(
            progress=round(min(progress, 0.99), 4),
            heartbeat_at=timezone.now(),
            **counts_dict(counts),
        )

    # A list added to a campaign already started waits for acceptance (acceptance.py); a
    # run taken up again keeps the hold its first run opened.
    hold = ContactHold.objects.filter(contact_import=job).first() or acceptance.hold_open(
        campaign=job.campaign,
        source=ContactHold.Source.IMPORT,
        label=job.original_name,
        added_by=job.uploaded_by,
        contact_import=job,
    )

    def publish(counts) -> None:
        # In the import's transaction: the counts commit with the contacts, and only if
        # no later run took the job over meanwhile.
        acceptance.hold_import_finish(job=job, hold=hold)
        done = mine.update(
            status=ContactImport.Status.DONE,
            progress=1.0,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            **counts_dict(counts),
        )
        if done != 1:
            raise _Superseded

    try:
        _counts, spool = import_into_job(
            job, report=report, publish=publish, hold_id=hold and hold.pk
        )
    except _Superseded:
        logger.warning("Contact import %s was taken over by another run", import_id)
        return None
    except UnreadableFile as error:
        _hold_drop(hold)
        return _import_failed(job, str(error), row=error.row, attempt=attempt)
    except Exception:
        logger.exception("Contact import %s failed", import_id)
        _hold_drop(hold)
        return _import_failed(
            job, _("The import stopped because of an internal error."), attempt=attempt
        )
    if spool is not None:
        transaction.on_commit(lambda: contact_import_rejects.delay(import_id))
    job.refresh_from_db()
    return job


def _hold_drop(hold: ContactHold | None) -> None:
    """A failed import left no contact (its transaction rolled back): its hold goes too, so
    nothing waits for an acceptance."""
    if hold is not None:
        ContactHold.objects.filter(pk=hold.pk, status=ContactHold.Status.HELD).delete()


def _remove_leftovers(import_id: int) -> bool:
    """Contacts stored under an unfinished job can only be those of an import cut short
    before imports were all or nothing: they go (False if some were called since)."""
    try:
        with transaction.atomic():
            Contact.objects.filter(source_import_id=import_id).delete()
    except ProtectedError:
        return False
    return True


def _called_message() -> str:
    return _(
        "The import was interrupted and some of its contacts have been called since; it "
        "cannot be run again."
    )


def _interrupted_message() -> str:
    return _(
        "The import was interrupted %(count)s times (its worker stopped) and has been "
        "given up; nothing of it was imported. Upload the list again."
    ) % {"count": settings.WAIHU_IMPORT_MAX_ATTEMPTS}


def import_sweep() -> dict[str, int]:
    """Running imports whose heartbeat stopped (their worker died) are queued again, or
    failed once they have had all their attempts; nothing of an unfinished import was
    ever published, so either way the campaign holds what the job says."""
    from outbound.contacts.tasks import contact_import_run

    taken = {"requeued": 0, "failed": 0}
    stale = ContactImport.objects.filter(
        status=ContactImport.Status.RUNNING, heartbeat_at__lt=_stale_before()
    ).values_list("pk", "attempts")
    for pk, attempts in list(stale):
        if attempts >= settings.WAIHU_IMPORT_MAX_ATTEMPTS:
            job = ContactImport.objects.get(pk=pk)
            message = _interrupted_message() if _remove_leftovers(pk) else _called_message()
            _import_failed(job, message, attempt=attempts)
            taken["failed"] += 1
            continue
        with transaction.atomic():
            requeued = ContactImport.objects.filter(
                pk=pk,
                status=ContactImport.Status.RUNNING,
                attempts=attempts,
                heartbeat_at__lt=_stale_before(),
            ).update(status=ContactImport.Status.QUEUED, heartbeat_at=None)
            if requeued:
                transaction.on_commit(lambda pk=pk: contact_import_run.delay(pk))
                taken["requeued"] += 1
    if any(taken.values()):
        logger.warning("Stale contact imports: %s", taken)
    return taken


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


def _import_failed(
    job: ContactImport, message: str, *, row: int | None = None, attempt: int | None = None
) -> ContactImport:
    """The job failed; nothing of it is in the campaign (its transaction rolled back), and
    its counts say so. `attempt`: only if the job is still that run's."""
    jobs = ContactImport.objects.filter(pk=job.pk)
    if attempt is not None:
        jobs = jobs.filter(attempts=attempt).exclude(status=ContactImport.Status.DONE)
    jobs.update(
        status=ContactImport.Status.FAILED,
        error=message,
        error_row=row,
        finished_at=timezone.now(),
        imported=0,
    )
    spool = rejects_spool_path(job)
    spool.unlink(missing_ok=True)
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
