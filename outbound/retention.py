"""The end of retention for outbound's own records (the Personal Information Protection
Law): a finished campaign's uploaded lists and rejected rows are deleted, its recordings
deleted at the carrier, and its contacts anonymised. What was counted and answered stays,
so every report of the campaign gives the same figures afterwards. retention/services.py
decides which campaigns are due and calls these; each step can be run again after a crash
and does only what is left.

Anonymising a contact replaces its number by a keyed one-way hash (HMAC-SHA256 under
WAIHU_RETENTION_KEY, a key of its own so that rotating DJANGO_SECRET_KEY never changes
it), and removes its name, the list's other columns and the agent's notes. Brand, region
and segment stay: they are the coarse categories the satisfaction index weights and the
cross-tabs split by, and say nothing of whom they belonged to once number and name are
gone. The number is written as "#" and 19 base-32 characters (95 bits of the digest), which
fits the phone column and cannot be mistaken for a number.

The do-not-call list keeps plain numbers by design: an opt-out must outlive the campaign
it was asked in, and an import is screened against the list as before. The hash goes the
other way: given a number, `phone_values` finds its anonymised contacts; given an
anonymised contact, `do_not_call_entry` hashes the list's numbers to find the entry that
blocks it. Hashing the list on the fly costs a pass over it (3 s for a list of 100,000
numbers on PostgreSQL on a busy two-core machine, tests/bench/bench_retention.py), fair
for a question asked about one contact at a time, and keeps no second copy of the numbers
to fall out of step."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from outbound import telephony
from outbound.contacts.importer import rejects_spool_path
from outbound.models import (
    CallAttempt,
    Contact,
    ContactImport,
    DoNotCallEntry,
    Interview,
    Recording,
    SandboxCall,
    SpokenAnswer,
)
from outbound.models.contacts import PHONE_MAX_LENGTH

logger = logging.getLogger(__name__)

HASH_PREFIX = "#"
# Domain separation: the same key must never give the same digest for another purpose.
_DOMAIN = b"waihu/retention/phone/v1\x00"
SPOKEN_DELETED = "deleted"


def phone_hash(number: str) -> str:
    """The anonymised form of an E.164 number."""
    digest = hmac.new(
        settings.WAIHU_RETENTION_KEY.encode(), _DOMAIN + number.encode(), hashlib.sha256
    ).digest()
    text = base64.b32encode(digest).decode("ascii").lower()
    return HASH_PREFIX + text[: PHONE_MAX_LENGTH - len(HASH_PREFIX)]


def is_anonymised(phone: str) -> bool:
    return phone.startswith(HASH_PREFIX)


def phone_values(number: str) -> list[str]:
    """What a contact's phone column holds for `number`: the number itself, or its hash
    once the contact was anonymised (Contact.objects.filter(phone__in=...))."""
    return [number, phone_hash(number)]


def do_not_call_entry(contact: Contact) -> DoNotCallEntry | None:
    """The active do-not-call entry that blocks the contact's number in its campaign (or
    everywhere), whether the contact has been anonymised or not."""
    entries = DoNotCallEntry.objects.active().filter(
        Q(campaign__isnull=True) | Q(campaign_id=contact.campaign_id)
    )
    if not is_anonymised(contact.phone):
        return entries.filter(phone=contact.phone).order_by("pk").first()
    for pk, phone in entries.order_by("pk").values_list("pk", "phone").iterator(chunk_size=5000):
        if hmac.compare_digest(phone_hash(phone), contact.phone):
            return DoNotCallEntry.objects.get(pk=pk)
    return None


# --- contacts ---------------------------------------------------------------------------


def contacts_left(campaign_id: int):
    return Contact.objects.filter(campaign_id=campaign_id).exclude(phone__startswith=HASH_PREFIX)


def _update_each(model, assignments: str, params: list[tuple]) -> None:
    """One UPDATE by key for each row, sent together: Django's bulk_update builds a CASE
    over the whole batch for every row, which grows with the square of the batch."""
    if not params:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    key = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        # Table and columns from the models, values bound.
        sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608
        cursor.executemany(sql, params)


def _anonymise_batch(campaign_id: int, size: int, after: str | None) -> tuple[int, str | None]:
    """Anonymises the next `size` contacts in the order of the campaign's (campaign, phone)
    index, from the number `after`: each batch reads only its own rows of the index, so a
    campaign of millions costs no more per batch than one of thousands. Returns how many it
    anonymised and where the next batch starts (None at the end)."""
    with transaction.atomic():
        page = Contact.objects.filter(campaign_id=campaign_id)
        if after is not None:
            page = page.filter(phone__gt=after)
        page = list(page.order_by("phone").values_list("pk", "phone")[:size])
        if not page:
            return 0, None
        rows = [(pk, phone) for pk, phone in page if not is_anonymised(phone)]
        ids = [pk for pk, _phone in rows]
        _update_each(
            Contact,
            "phone = %s, name = '', attributes = %s",
            [(phone_hash(phone), "{}", pk) for pk, phone in rows],
        )
        attempts = list(
            CallAttempt.objects.filter(contact_id__in=ids)
            .exclude(to__startswith=HASH_PREFIX)
            .values_list("pk", "to", "call_sid")
        )
        _update_each(
            CallAttempt,
            "\"to\" = %s, recording_url = ''",
            [(phone_hash(to), pk) for pk, to, _sid in attempts],
        )
        sids = [sid for _pk, _to, sid in attempts if sid]
        sids += (
            Interview.objects.filter(contact_id__in=ids)
            .exclude(agent_call_sid="")
            .values_list("agent_call_sid", flat=True)
        )
        # The sandbox's record of each call (in development, demos and training): the
        # attempt's own, or the leg an agent's call dialled the customer on.
        played = list(
            SandboxCall.objects.filter(Q(sid__in=sids) | Q(parent_call_sid__in=sids))
            .filter(to__in=[phone for _pk, phone in rows])
            .values_list("pk", "to")
        )
        _update_each(SandboxCall, '"to" = %s', [(phone_hash(to), pk) for pk, to in played])
        Interview.objects.filter(contact_id__in=ids).exclude(notes="").update(notes="")
    return len(rows), page[-1][1]


def contacts_anonymise(*, campaign_id: int, batch_size: int | None = None) -> int:
    """Anonymises the campaign's contacts not yet anonymised, a batch per transaction;
    returns how many it anonymised."""
    size = batch_size or settings.WAIHU_RETENTION_BATCH_SIZE
    done, after = 0, None
    while True:
        count, after = _anonymise_batch(campaign_id, size, after)
        done += count
        if after is None:
            return done


# --- uploaded files ---------------------------------------------------------------------


def _size(field) -> int:
    try:
        return field.storage.size(field.name) if field else 0
    except OSError:
        return 0


def imports_with_files(campaign_id: int):
    return ContactImport.objects.filter(campaign_id=campaign_id, files_removed_at__isnull=True)


def import_file_sizes(job: ContactImport) -> tuple[int, int]:
    """(files, bytes) an import still keeps: the list, its rejected rows, the spool."""
    files = [field for field in (job.file, job.rejects_file) if field]
    return len(files), sum(_size(field) for field in files)


def _spool(job: ContactImport) -> Path | None:
    """The rejected rows' spool the import writes beside its list (imports read lists from
    the local media folder, so a list always has a path)."""
    return rejects_spool_path(job) if job.file else None


def imports_remove_files(*, campaign_id: int) -> tuple[int, int]:
    """Deletes every uploaded list of the campaign, its rejected rows and their spool, and
    clears the rows' first lines kept for the mapping page. Returns (files, bytes)."""
    files = size = 0
    for job in imports_with_files(campaign_id).order_by("pk"):
        count, nbytes = import_file_sizes(job)
        spool = _spool(job)
        if spool is not None:
            spool.unlink(missing_ok=True)
        for field in (job.file, job.rejects_file):
            if field:
                field.delete(save=False)
        ContactImport.objects.filter(pk=job.pk).update(
            file="", rejects_file="", preview=[], files_removed_at=timezone.now()
        )
        files += count
        size += nbytes
    return files, size


# --- recordings -------------------------------------------------------------------------


def recordings_left(campaign_id: int):
    return Recording.objects.filter(attempt__campaign_id=campaign_id).exclude(
        status=Recording.Status.DELETED
    )


def spoken_recordings_left(campaign_id: int):
    return (
        SpokenAnswer.objects.filter(interview__campaign_id=campaign_id)
        .exclude(recording_sid="")
        .exclude(recording_status=SPOKEN_DELETED)
    )


def _delete_at_carrier(sid: str) -> None:
    # A SID the carrier could not have given has nothing to delete there.
    if telephony.RECORDING_SID_RE.fullmatch(sid):
        telephony.recording_delete(sid)


def recordings_delete(*, campaign_id: int) -> int:
    """Deletes the campaign's call recordings and spoken answers at the carrier and marks
    them deleted; returns how many. A carrier that cannot be reached raises
    telephony.TelephonyError and leaves the rest for the next run."""
    deleted = 0
    for recording in recordings_left(campaign_id).only("pk", "sid").order_by("pk"):
        _delete_at_carrier(recording.sid)
        Recording.objects.filter(pk=recording.pk).update(
            status=Recording.Status.DELETED, updated_at=timezone.now()
        )
        deleted += 1
    for spoken in spoken_recordings_left(campaign_id).only("pk", "recording_sid").order_by("pk"):
        _delete_at_carrier(spoken.recording_sid)
        SpokenAnswer.objects.filter(pk=spoken.pk).update(
            recording_status=SPOKEN_DELETED, recording_url="", updated_at=timezone.now()
        )
        deleted += 1
    return deleted
