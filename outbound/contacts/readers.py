"""Reading contact lists row by row: CSV in whatever encoding Excel saved it (UTF-8 with or
without a BOM, GB18030/GBK, UTF-16) and .xlsx workbooks (first sheet)."""

import codecs
import csv
import datetime
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.utils.translation import gettext as _

_CHUNK = 1 << 20


class UnreadableFile(ValueError):
    """The file is not a list we can read; the message says why, for the user."""


def detect_encoding(path: str | Path) -> str:
    """The encoding of a CSV file. UTF-8 is tried over the whole file, a chunk at a time
    (a GBK file is almost never valid UTF-8, and a UTF-8 file may hold its first Chinese
    character far down); anything else is read as GB18030, the superset of GBK."""
    with open(path, "rb") as raw:
        head = raw.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        raw.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := raw.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _sniff_delimiter(sample: str) -> str:
    first_line = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def clean_header(cells) -> list[str]:
    """Header cells as unique, non-empty labels."""
    labels, seen = [], set()
    for position, cell in enumerate(cells, start=1):
        label = cell_text(cell).strip().lstrip("\ufeff") or _("Column %(n)s") % {"n": position}
        unique, n = label, 2
        while unique in seen:
            unique, n = f"{label} ({n})", n + 1
        seen.add(unique)
        labels.append(unique)
    return labels


def cell_text(value) -> str:
    """A cell as text the way the user saw it in Excel: 13812345678, not 13812345678.0."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.time() else str(value.date())
    return str(value)


class Table:
    """An open list: its header, its data rows one at a time, and how far reading got."""

    header: list[str]
    delimiter: str = ""
    encoding: str = ""

    def rows(self) -> Iterator[list]:
        raise NotImplementedError

    def progress(self) -> float:
        raise NotImplementedError


class CsvTable(Table):
    def __init__(self, raw, encoding: str, size: int):
        self._raw = raw
        self._size = max(size, 1)
        self.encoding = encoding
        self._text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="replace")
        sample = self._text.read(8192)
        self.delimiter = _sniff_delimiter(sample)
        self._text.seek(0)
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        first = next((row for row in self._reader if any(cell.strip() for cell in row)), None)
        if first is None:
            raise UnreadableFile(_("The file is empty."))
        self.header = clean_header(first)

    def rows(self) -> Iterator[list]:
        for row in self._reader:
            if row and any(row):
                yield row

    def progress(self) -> float:
        return min(self._raw.tell() / self._size, 1.0)


class XlsxTable(Table):
    def __init__(self, path: str):
        from python_calamine import CalamineError, load_workbook

        try:
            self._workbook = load_workbook(path)
            sheet = self._workbook.get_sheet_by_index(0)
        except (CalamineError, OSError, ValueError) as error:
            raise UnreadableFile(_("This is not an Excel workbook we can read.")) from error
        self._total = max(sheet.height, 1)
        self._done = 0
        self._iter = sheet.iter_rows()
        for row in self._iter:
            self._done += 1
            if any(cell not in ("", None) for cell in row):
                self.header = clean_header(row)
                break
        else:
            raise UnreadableFile(_("The file is empty."))

    def rows(self) -> Iterator[list]:
        for row in self._iter:
            self._done += 1
            if any(cell not in ("", None) for cell in row):
                yield row

    def progress(self) -> float:
        return min(self._done / self._total, 1.0)

    def close(self) -> None:
        self._workbook.close()


def file_format(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    return {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix)


@contextmanager
def open_table(path: str | Path, fmt: str, encoding: str | None = None) -> Iterator[Table]:
    """The list at `path` opened for reading; CSV is decoded as it streams."""
    path = str(path)
    if fmt == "xlsx":
        table = XlsxTable(path)
        try:
            yield table
        finally:
            table.close()
        return
    encoding = encoding or detect_encoding(path)
    size = Path(path).stat().st_size
    with open(path, "rb") as raw:
        try:
            table = CsvTable(raw, encoding, size)
        except csv.Error as error:
            raise UnreadableFile(_("This is not a CSV file we can read.")) from error
        yield table
