"""The contact import: the list streams through in batches; each row's number is normalised,
checked against the rows before it, the campaign and the lists never to call, and what is
left is stored (PostgreSQL: COPY, or through a staging table and INSERT ... ON CONFLICT DO
NOTHING; elsewhere INSERT OR IGNORE). Rejected rows go to a workbook with the reason.

An import is all or nothing: every batch is staged in one database transaction that stays
open until the end, and the contacts are published, with the job's counts, by its commit. A
bad row, a limit passed or a worker that dies rolls the whole list back: no contact of a
half-read list is ever seen, let alone dialled."""

import csv
import datetime
import json
import queue
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.utils import get_column_letter

from accounts.privacy import mask_numbers_in_text
from outbound.contacts.readers import cell_text, open_table, without_value
from outbound.contacts.rules import (
    INVALID_REASONS,
    ContactRules,
    DateSource,
    RejectReason,
    reject_message,
)
from outbound.models import Contact, ContactImport, WorkOrder
from outbound.models.contacts import FIELD_MAX_LENGTH

TEXT_FIELDS = ("name", "brand", "region", "segment")
DATE_FIELDS = ("deadline", "feedback_date")
TARGETS = ("phone", *TEXT_FIELDS, *DATE_FIELDS)

# A batch is cut at WAIHU_IMPORT_BATCH_ROWS rows or at about this many bytes of the file,
# whichever comes first, so a list of huge rows is held a few rows at a time. With one
# batch being read, one queued and one being stored, memory stays within a fixed budget.
BATCH_BYTES = 8 * 2**20
REPORT_SECONDS = 0.5
# The rejected rows' workbook holds at most Excel's rows: the header and then these.
REJECTS_MAX_ROWS = 1_048_576 - 2
# The first rejected rows are kept with the job (row, reason, detail: no personal data) so
# its page can say why without the workbook.
REJECTS_SAMPLE = 20


_INVALID = INVALID_REASONS


@dataclass
class Counts:
    rows_read: int = 0
    imported: int = 0
    duplicates_in_file: int = 0
    duplicates_in_campaign: int = 0
    invalid: int = 0
    excluded_dnc: int = 0
    excluded_red_list: int = 0
    rejects_sample: list = field(default_factory=list)

    def count(self, reason: str) -> None:
        if reason in _INVALID:
            self.invalid += 1
        elif reason == RejectReason.DUPLICATE_IN_FILE:
            self.duplicates_in_file += 1
        elif reason == RejectReason.ALREADY_IN_CAMPAIGN:
            self.duplicates_in_campaign += 1
        elif reason == RejectReason.DO_NOT_CALL:
            self.excluded_dnc += 1
        elif reason == RejectReason.RED_LIST:
            self.excluded_red_list += 1


class RejectsSpool:
    """The rejected rows as they were in the list, each followed by its reason code, its
    row number in the file and the reason's detail (the row a duplicate repeats, the
    column of a formula without a value), spooled to a CSV file as the import goes;
    `build_rejects_workbook` turns it into the workbook the user downloads (openpyxl writes
    a few thousand rows a second, too slow to do inline). The file is only made once a row
    is rejected."""

    def __init__(self, path: Path, width: int):
        self.path = path
        self.width = width
        self.rows = 0
        self._handle = self._writer = None

    def add(self, row: list, reason: str, number: int | None = None, detail=None) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._handle)
        cells = [cell_text(value) for value in row[: self.width]]
        cells.extend([""] * (self.width - len(cells)))
        cells.append(reason)
        cells.append("" if number is None else number)
        cells.append("" if detail is None else detail)
        self._writer.writerow(cells)
        self.rows += 1

    def close(self) -> Path | None:
        if self._handle is None:
            return None
        self._handle.close()
        self._handle = self._writer = None
        return self.path

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _safe_cell(sheet, value: str):
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith("="):
        # A cell that reads like a formula stays text: a list is data, not a program.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value or None


def build_rejects_workbook(spool: Path, header: list[str], target: Path) -> int:
    """The spooled rejected rows as a workbook at `target`, the reason spelt out in the
    active language; returns the number of rows. Past what Excel opens, the rest are left
    out and the last row says how many."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Rejected rows"))
    sheet.append([*header, _("Row number"), _("Reason")])
    width = len(header)
    rows = left_out = 0
    # The spool's cells were held to the import's cell limit when read.
    if csv.field_size_limit() < settings.WAIHU_IMPORT_MAX_CELL_CHARS + 1:
        csv.field_size_limit(settings.WAIHU_IMPORT_MAX_CELL_CHARS + 1)
    with open(spool, encoding="utf-8", newline="") as handle:
        for line in csv.reader(handle):
            if rows >= REJECTS_MAX_ROWS:
                left_out += 1
                continue
            cells = [_safe_cell(sheet, cell) for cell in line[:width]]
            # A spool written before rows were numbered holds the reason alone.
            reason, number, detail = (*line[width:], "", "")[:3]
            message = reject_message(reason, detail)
            sheet.append([*cells, int(number) if number.isdigit() else None, message])
            rows += 1
    if left_out:
        sheet.append(
            [
                _(
                    "%(count)s more rejected rows are left out: a worksheet holds no more "
                    "than %(limit)s rows."
                )
                % {"count": f"{left_out:,}", "limit": f"{REJECTS_MAX_ROWS + 2:,}"}
            ]
        )
    workbook.save(target)
    return rows


def mask_rejects_workbook(source, target) -> None:
    """A copy of the rejected rows' workbook with every phone number masked, for those who
    may not see numbers whole: read and written a row at a time, so a long list costs no
    more memory than a short one."""
    book = load_workbook(source, read_only=True)
    out = Workbook(write_only=True)
    for sheet in book.worksheets:
        copy = out.create_sheet(sheet.title)
        for row in sheet.iter_rows(values_only=True):
            copy.append(
                [
                    _safe_cell(copy, mask_numbers_in_text(str(value)))
                    if isinstance(value, str | int)
                    else value
                    for value in row
                ]
            )
    book.close()
    out.save(target)


class _RolledBack(Exception):
    """Given to a transaction that is to be rolled back rather than committed."""


def _roll_back(atomic) -> None:
    atomic.__exit__(_RolledBack, _RolledBack(), None)


class _Writer:
    """Stores screened contacts in one transaction: `add` each (or `hand_over` a batch's
    worth), then `publish` commits them all at once, or `close` rolls them all back. Each
    batch is stored in a savepoint of its own, so a conflict costs that batch a second
    try, not the list."""

    def __init__(self, campaign_id: int, import_id: int | None, hold_id: int | None = None):
        self.campaign_id = campaign_id
        self.import_id = import_id
        # Contacts added to a campaign already started wait for acceptance (acceptance.py).
        self.hold_id = hold_id
        self.pending: list[tuple] = []
        self.inserted = 0
        self._begin()

    def _begin(self) -> None:
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._open = True
        self._started()

    def _started(self) -> None:
        """Anything the transaction needs first."""

    def add(self, phone, name, brand, region, segment, attributes, deadline) -> None:
        self.pending.append((phone, name, brand, region, segment, attributes, deadline))

    def hand_over(self) -> None:
        """Stores what is pending (not yet published)."""
        if self.pending:
            self._hand_over(self.pending)
            self.pending = []

    def _hand_over(self, rows: list[tuple]) -> None:
        self._store(rows)

    def publish(self, finish=None) -> None:
        """Stores what is pending, calls `finish()` inside the same transaction (an error
        there rolls everything back) and commits: the contacts appear all at once."""
        self.hand_over()
        if finish is not None:
            try:
                finish()
            except BaseException:
                self.close()
                raise
        self._open = False
        self._atomic.__exit__(None, None, None)

    def flush(self) -> None:
        """Stores and publishes everything added."""
        self.publish()

    def close(self) -> None:
        """Stops; whatever is not published is rolled back."""
        if self._open:
            self._open = False
            _roll_back(self._atomic)

    def _store(self, rows: list[tuple]) -> None:
        raise NotImplementedError


class _InBackground:
    """Stores in a thread of its own, on a connection of its own, while the next rows are
    read and checked: the database's work and ours overlap. At most one batch waits while
    another is being stored, so memory stays bounded. The thread's transaction stays open
    from the first batch to `publish`."""

    def _begin(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._published = False
        self._thread = threading.Thread(target=self._work, name="contact-import-store")
        self._thread.start()

    def _work(self) -> None:
        atomic, open_ = transaction.atomic(), False
        try:
            atomic.__enter__()
            open_ = True
            self._started()
            while (item := self._queue.get()) is not None:
                if self._error is not None:
                    continue
                try:
                    if callable(item):
                        item()
                        open_ = False
                        atomic.__exit__(None, None, None)
                        self._published = True
                    else:
                        self._store(item)
                except BaseException as error:
                    self._error = error
        except BaseException as error:
            self._error = self._error or error
            # Whatever is still handed over is taken, so the reader never waits for ever.
            while self._queue.get() is not None:
                pass
        finally:
            if open_:
                try:
                    _roll_back(atomic)
                finally:
                    connection.close()
            else:
                connection.close()

    def _hand_over(self, rows: list[tuple]) -> None:
        self._raise()
        self._queue.put(rows)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def publish(self, finish=None) -> None:
        self.hand_over()
        self._raise()
        self._queue.put(finish or (lambda: None))
        self._stop()
        self._raise()
        if not self._published:
            raise RuntimeError("The contacts were not published.")

    def close(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


_JSON = json.JSONEncoder(ensure_ascii=False)


class _PostgresWriter(_Writer):
    """COPY straight into the contacts table, the quickest way in: the rows are already
    unique within the list and against the campaign. Should another import or the dialer
    have added one of the numbers meanwhile, that batch goes again through a staging
    table and INSERT ... ON CONFLICT DO NOTHING."""

    STAGE = "outbound_contact_import_stage"
    COLUMNS = "phone, name, brand, region, segment, attributes, deadline"

    def _started(self) -> None:
        with connection.cursor() as cursor:
            # The rows are still in the uploaded file and the import can be run again,
            # so its commit need not wait for the disk: a commit lost to a crash loses
            # the contacts and the job's "finished" together, and the job runs again.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")

    def _store(self, rows: list[tuple]) -> None:
        try:
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                connection.wrap_database_errors,
            ):
                self._copy(cursor, rows)
        except IntegrityError:
            with transaction.atomic(), connection.cursor() as cursor:
                self._merge(cursor, rows)
        else:
            self.inserted += len(rows)

    def _copy(self, cursor, rows: list[tuple]) -> None:
        table = Contact._meta.db_table
        now = timezone.now()
        campaign_id, import_id, hold_id = self.campaign_id, self.import_id, self.hold_id
        dumps = _JSON.encode
        columns = f"campaign_id, source_import_id, hold_id, created_at, {self.COLUMNS}"
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for phone, name, brand, region, segment, attributes, deadline in rows:
                write(
                    (
                        campaign_id,
                        import_id,
                        hold_id,
                        now,
                        phone,
                        name,
                        brand,
                        region,
                        segment,
                        dumps(attributes),
                        deadline,
                    )
                )

    def _merge(self, cursor, rows: list[tuple]) -> None:
        table = Contact._meta.db_table
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {self.STAGE} "
            "(phone varchar(20), name varchar(100), brand varchar(100), "
            "region varchar(100), segment varchar(100), attributes jsonb, deadline date) "
            "ON COMMIT DELETE ROWS"
        )
        # Inside the import's transaction nothing commits between batches.
        cursor.execute(f"TRUNCATE {self.STAGE}")
        with cursor.cursor.copy(f"COPY {self.STAGE} ({self.COLUMNS}) FROM STDIN") as copy:
            write, dumps = copy.write_row, _JSON.encode
            for phone, name, brand, region, segment, attributes, deadline in rows:
                write((phone, name, brand, region, segment, dumps(attributes), deadline))
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, source_import_id, hold_id, created_at, "  # noqa: S608
            f"{self.COLUMNS}) SELECT %s, %s, %s, %s, {self.COLUMNS} FROM {self.STAGE} "
            "ON CONFLICT (campaign_id, phone) DO NOTHING",
            [self.campaign_id, self.import_id, self.hold_id, timezone.now()],
        )
        self.inserted += cursor.rowcount


class _SqliteWriter(_Writer):
    """SQLite has one writer at a time: a transaction held open for a whole list would stop
    the dialer, the web and every other worker writing for as long as the list takes. So
    the rows are staged in a TEMP table, which lives in the connection's own temporary
    database and locks nothing of the main one, and published at the end with one
    INSERT … SELECT in a short transaction (with the job's counts). A worker that dies takes
    its staging table with it: nothing of the list is left behind. Many rows go per
    statement; bulk_create would build a model instance per row and send 99 rows per
    statement, ten times slower."""

    STAGE = "waihu_contact_stage"
    COLUMNS = (
        "campaign_id, source_import_id, hold_id, created_at, "
        "phone, name, brand, region, segment, attributes, deadline"
    )
    STAGED = "phone, name, brand, region, segment, attributes, deadline"

    def _begin(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.STAGE} "
                "(phone TEXT PRIMARY KEY, name TEXT, brand TEXT, region TEXT, segment TEXT, "
                "attributes TEXT, deadline TEXT)"
            )
            cursor.execute(f"DELETE FROM temp.{self.STAGE}")  # noqa: S608
        self._open = True

    def _store(self, rows: list[tuple]) -> None:
        ops = connection.ops
        dumps = _JSON.encode
        values = [
            (
                phone,
                name,
                brand,
                region,
                segment,
                dumps(attributes),
                ops.adapt_datefield_value(deadline),
            )
            for phone, name, brand, region, segment, attributes, deadline in rows
        ]
        with connection.cursor() as cursor:
            # A number twice in the list keeps its first row, as the campaign's own
            # constraint keeps the first import's.
            cursor.executemany(
                f"INSERT OR IGNORE INTO temp.{self.STAGE} ({self.STAGED}) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                values,
            )

    def publish(self, finish=None) -> None:
        self.hand_over()
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        table = Contact._meta.db_table
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT OR IGNORE INTO {table} ({self.COLUMNS}) "  # noqa: S608
                    f"SELECT %s, %s, %s, %s, {self.STAGED} FROM temp.{self.STAGE} "
                    "ORDER BY rowid",
                    [self.campaign_id, self.import_id, self.hold_id, now],
                )
                # Rows ignored for a number already in the campaign are not changes, nor
                # are the kept counts' rows the triggers write (outbound.dialer.counts).
                cursor.execute("SELECT changes()")
                self.inserted = cursor.fetchone()[0]
                if finish is not None:
                    finish()
        finally:
            self.close()

    def close(self) -> None:
        if self._open:
            self._open = False
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM temp.{self.STAGE}")  # noqa: S608


class _PostgresBackgroundWriter(_InBackground, _PostgresWriter):
    pass


def _writer(campaign_id: int, import_id: int | None, hold_id: int | None = None) -> _Writer:
    if connection.vendor == "postgresql":
        # Inside a transaction (an outer atomic block, a test) another connection would
        # not see the campaign, so the rows are stored on this one.
        if connection.in_atomic_block:
            return _PostgresWriter(campaign_id, import_id, hold_id)
        return _PostgresBackgroundWriter(campaign_id, import_id, hold_id)
    return _SqliteWriter(campaign_id, import_id, hold_id)


class ContactImporter:
    """Imports one list into one campaign. `report(counts, progress)` is called now and then
    while it runs; `run()` returns the counts and the rejected rows' workbook (or None)."""

    def __init__(
        self,
        *,
        campaign: WorkOrder,
        path: str | Path,
        file_format: str,
        header: list[str],
        mapping: dict[str, int],
        encoding: str | None = None,
        deadline_days: int = 7,
        import_id: int | None = None,
        hold_id: int | None = None,
        report=None,
        rejects_path: str | Path | None = None,
    ):
        self.campaign = campaign
        self.path = path
        self.file_format = file_format
        self.encoding = encoding or None
        self.header = header
        self.mapping = {target: int(index) for target, index in mapping.items()}
        self.deadline_days = datetime.timedelta(days=deadline_days)
        self.import_id = import_id
        self.hold_id = hold_id
        self.report = report
        self.rejects_path = Path(rejects_path) if rejects_path else None
        mapped = set(self.mapping.values())
        self.attribute_columns = [
            (index, label) for index, label in enumerate(header) if index not in mapped
        ]
        self.counts = Counts()
        self.accepted = 0
        self._formulas_without_value = 0

    def run(self, publish=None) -> tuple[Counts, Path | None]:
        """Imports the list in one transaction; `publish(counts)` is called inside it at
        the end, so whatever it writes (the job's counts) commits with the contacts."""
        if "deadline" in self.mapping:
            date_source = DateSource.DEADLINE
        elif "feedback_date" in self.mapping:
            date_source = DateSource.FEEDBACK
        else:
            date_source = DateSource.NONE
        self.rules = ContactRules(
            campaign=self.campaign,
            deadline_days=self.deadline_days.days,
            date_source=date_source,
            today=timezone.localdate(),
        )
        spool = self.rejects_path
        if spool is None:
            with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
                spool = Path(handle.name)
        self.rejects = RejectsSpool(spool, len(self.header))
        self.writer = _writer(self.campaign.pk, self.import_id, self.hold_id)

        def finish() -> None:
            # Every batch is stored by now.
            self._settle()
            # Rows that another import stored first are caught by the unique constraint.
            self.counts.duplicates_in_campaign += self.accepted - self.writer.inserted
            if publish is not None:
                publish(self.counts)

        try:
            self._read()
            self.writer.publish(finish)
        except BaseException:
            self.writer.close()
            self.rejects.discard()
            raise
        spooled = self.rejects.close()
        if spooled is None:
            self.rejects.discard()
        return self.counts, spooled

    def _read(self) -> None:
        last_report = time.monotonic()
        batch_rows = settings.WAIHU_IMPORT_BATCH_ROWS
        with open_table(self.path, self.file_format, self.encoding) as table:
            self._table = table
            batch: list[list] = []
            numbers: list[int] = []
            consumed = table.consumed
            cut = consumed() + BATCH_BYTES
            for row in table.rows():
                batch.append(row)
                numbers.append(table.sheet_row)
                if len(batch) >= batch_rows or consumed() >= cut:
                    self._process(batch, numbers)
                    batch, numbers = [], []
                    cut = consumed() + BATCH_BYTES
                    if self.report and time.monotonic() - last_report > REPORT_SECONDS:
                        # Nothing is imported until the end: the staged rows are not
                        # the campaign's yet.
                        self.report(replace(self.counts, imported=0), table.progress())
                        last_report = time.monotonic()
            self._process(batch, numbers)

    def _settle(self) -> None:
        self.counts.imported = self.writer.inserted

    def _reject(self, row: list, reason: str, number: int, detail=None) -> None:
        self.counts.count(reason)
        self.rejects.add(row, reason, number, detail)
        sample = self.counts.rejects_sample
        if len(sample) < REJECTS_SAMPLE:
            sample.append([number, str(reason), detail])

    @staticmethod
    def _column(batch: list[list], index: int | None) -> list | None:
        if index is None:
            return None
        return [row[index] if index < len(row) else None for row in batch]

    def _process(self, batch: list[list], numbers: list[int]) -> None:
        if not batch:
            return
        self._process_rows(batch, numbers)
        # The batch is staged (or being staged) in the import's transaction.
        self.writer.hand_over()

    def _without_formulas(self, batch: list[list], numbers: list[int]):
        """The batch less its rows holding a formula whose result was never saved: such a
        row is turned away naming the column, rather than imported with the cell empty."""
        kept, kept_numbers = [], []
        header = self.header
        for row, number in zip(batch, numbers, strict=True):
            index = without_value(row)
            if index is None:
                kept.append(row)
                kept_numbers.append(number)
                continue
            column = get_column_letter(index + 1)
            if index < len(header):
                column = f"{column} ({header[index]})"
            self._reject(row, RejectReason.FORMULA_WITHOUT_VALUE, number, column)
        return kept, kept_numbers

    def _process_rows(self, batch: list[list], numbers: list[int]) -> None:
        self.counts.rows_read += len(batch)
        # Only a workbook has formulas; its batches are looked through only when one
        # without a value has been read since the last.
        formulas = self._table.formulas_without_value
        if formulas != self._formulas_without_value:
            self._formulas_without_value = formulas
            batch, numbers = self._without_formulas(batch, numbers)
        mapping = self.mapping
        screened = self.rules.screen(
            range(len(batch)),
            self._column(batch, mapping["phone"]),
            self._column(batch, mapping.get("deadline")),
            self._column(batch, mapping.get("feedback_date")),
            numbers,
        )
        for position, reason, detail in screened.rejected:
            self._reject(batch[position], reason, numbers[position], detail)
        text_indexes = [mapping.get(field) for field in TEXT_FIELDS]
        attribute_columns = self.attribute_columns
        add = self.writer.add
        # A CSV cell is text already; a workbook's may be a number or a date.
        text = str if self.file_format == "csv" else cell_text
        for position, phone, deadline in screened.accepted:
            row = batch[position]
            width = len(row)
            texts = [
                text(row[index]).strip()[:FIELD_MAX_LENGTH]
                if index is not None and index < width
                else ""
                for index in text_indexes
            ]
            attributes = {}
            for index, label in attribute_columns:
                if index < width:
                    value = row[index]
                    if value is not None and value != "":
                        attributes[label] = text(value)
            add(phone, *texts, attributes, deadline)
            self.accepted += 1


def counts_dict(counts: Counts) -> dict:
    return asdict(counts)


def rejects_spool_path(job: ContactImport) -> Path:
    return Path(f"{job.file.path}.rejected.csv")


def import_into_job(
    job: ContactImport, *, report=None, publish=None, hold_id: int | None = None
) -> tuple[Counts, Path | None]:
    importer = ContactImporter(
        campaign=job.campaign,
        path=job.file.path,
        file_format=job.file_format,
        header=job.header,
        mapping=job.mapping,
        encoding=job.encoding,
        deadline_days=job.deadline_days,
        import_id=job.pk,
        report=report,
        rejects_path=rejects_spool_path(job),
        hold_id=hold_id,
    )
    return importer.run(publish)


def contact_writer(
    campaign_id: int, import_id: int | None = None, hold_id: int | None = None
) -> _Writer:
    """The quickest way to store screened contacts on this database: `add(...)` each, then
    `flush()` (or `close()` to store none); `inserted` counts those stored (a number
    another writer stored first is not)."""
    return _writer(campaign_id, import_id, hold_id)
