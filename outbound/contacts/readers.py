"""Reading contact lists row by row: CSV in whatever encoding Excel saved it (UTF-8 with or
without a BOM, GB18030/GBK, UTF-16) and .xlsx workbooks (first sheet)."""

import abc
import codecs
import csv
import datetime
import functools
import io
import os
import posixpath
import re
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from lxml import etree

from surveys.workbook_safety import workbook_check

_CHUNK = 1 << 20
_XML_CHUNK = 1 << 16


class UnreadableFile(ValueError):
    """The file is not a list we can read; the message says why, for the user. `row` is
    the row (or line) of the file at fault, when one is."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.row = row


class LimitExceeded(UnreadableFile):
    """The list passes one of the import's limits; the message names it."""


class _FormulaWithoutValue:
    """A workbook cell holding a formula whose result was never saved (a workbook written
    by a program rather than by Excel, say): its value is unknown, which is not the same as
    empty. Read as text it is empty; an import turns its row away (see `without_value`)."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "FORMULA_WITHOUT_VALUE"


FORMULA_WITHOUT_VALUE = _FormulaWithoutValue()


def without_value(row: list) -> int | None:
    """The index of the first cell of `row` whose formula has no saved value, or None."""
    for index, cell in enumerate(row):
        if cell is FORMULA_WITHOUT_VALUE:
            return index
    return None


# Excel's own bounds: no sheet it writes holds more rows.
EXCEL_MAX_ROWS = 1_048_576
# Shared strings are kept in memory up to about this many bytes, the rest in a temporary
# file; and a workbook may hold at most this many of them.
_STRINGS_IN_MEMORY = 48 * 2**20
_MAX_SHARED_STRINGS = 10_000_000


@dataclass(frozen=True)
class Limits:
    """What a list may hold; anything beyond is refused while it streams (settings
    WAIHU_IMPORT_MAX_*)."""

    rows: int
    columns: int
    cell_chars: int
    expanded_bytes: int

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            rows=settings.WAIHU_IMPORT_MAX_ROWS,
            columns=settings.WAIHU_IMPORT_MAX_COLUMNS,
            cell_chars=settings.WAIHU_IMPORT_MAX_CELL_CHARS,
            expanded_bytes=settings.WAIHU_IMPORT_MAX_EXPANDED_MB * 2**20,
        )

    def too_many_rows(self, row: int) -> LimitExceeded:
        return LimitExceeded(
            _("The list has more than %(limit)s rows, the most one import takes.")
            % {"limit": f"{self.rows:,}"},
            row,
        )

    def too_many_columns(self, row: int | None) -> LimitExceeded:
        return LimitExceeded(
            _("Row %(row)s has more than %(limit)s columns, the most one import takes.")
            % {"row": f"{row:,}" if row else "?", "limit": f"{self.columns:,}"},
            row,
        )

    def cell_too_long(self, row: int | None) -> LimitExceeded:
        if row is None:
            message = _(
                "A cell holds more than %(limit)s characters, the most one import takes."
            ) % {"limit": f"{self.cell_chars:,}"}
        else:
            message = _(
                "A cell of row %(row)s holds more than %(limit)s characters, the most one "
                "import takes."
            ) % {"row": f"{row:,}", "limit": f"{self.cell_chars:,}"}
        return LimitExceeded(message, row)


def _nul_in_line(line: int) -> UnreadableFile:
    return UnreadableFile(
        _(
            "Line %(line)s holds a NUL character, which a text list never does: the file "
            "is damaged or not a CSV file."
        )
        % {"line": f"{line:,}"},
        line,
    )


def _mixed_encodings(line: int, utf8_first: bool) -> UnreadableFile:
    if utf8_first:
        message = _(
            "Line %(line)s is not in UTF-8 like the lines before it: the file mixes "
            "encodings. Save the whole list again in one encoding (UTF-8) and upload it."
        )
    else:
        message = _(
            "Line %(line)s is in UTF-8 but most of the file is in GBK: the file mixes "
            "encodings. Save the whole list again in one encoding (UTF-8) and upload it."
        )
    return UnreadableFile(message % {"line": f"{line:,}"}, line)


def _has_wide_character(text: str) -> bool:
    """A character of three or more UTF-8 bytes (a Chinese one, say): GBK text misread as
    UTF-8 only rarely makes one."""
    return any(ord(c) >= 0x800 for c in text)


def detect_encoding(path: str | Path) -> str:
    """The encoding of a CSV file, decided once for the whole file. UTF-8 is tried over
    the whole file, a chunk at a time (a GBK file is almost never valid UTF-8, and a UTF-8
    file may hold its first Chinese character far down); a file that is not UTF-8 is read
    as GB18030, the superset of GBK. A file whose lines are in both is refused, naming the
    first line in the minority's encoding, as is one holding a NUL byte."""
    with open(path, "rb") as raw:
        head = raw.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        bom = head.startswith(codecs.BOM_UTF8)
        raw.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        lines = 0
        while chunk := raw.read(_CHUNK):
            nul = chunk.find(b"\0")
            if nul >= 0:
                raise _nul_in_line(lines + chunk.count(b"\n", 0, nul) + 1)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                at = max(error.start - pending, 0)
                return _not_utf8(raw, lines + chunk.count(b"\n", 0, at), bom)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _not_utf8(raw, lines, bom)
    return "utf-8-sig" if bom else "utf-8"


def _not_utf8(raw, lines_before: int, bom: bool) -> str:
    """The file is not all UTF-8 from the line after `lines_before` on (`raw` is at its
    start): GB18030 unless a fair share of its lines are UTF-8 Chinese, in which case the
    file mixes encodings. A line of GBK happens to read as UTF-8 Chinese now and then
    (under one line in a hundred, short lines), so a few such lines do not count."""
    raw.seek(0)
    utf8 = not_utf8 = 0
    first_utf8 = first_not_utf8 = None
    for number, line in enumerate(raw, start=1):
        if b"\0" in line:
            raise _nul_in_line(number)
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            not_utf8 += 1
            first_not_utf8 = first_not_utf8 or number
            continue
        if _has_wide_character(text):
            utf8 += 1
            first_utf8 = first_utf8 or number
    if bom or utf8 >= not_utf8:
        raise _mixed_encodings(first_not_utf8 or lines_before + 1, utf8_first=True)
    if utf8 > 0.05 * (utf8 + not_utf8):
        raise _mixed_encodings(first_utf8, utf8_first=False)
    return "gb18030"


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


class Table(abc.ABC):
    """An open list: its header, its data rows one at a time, and how far reading got."""

    header: list[str]
    delimiter: str = ""
    encoding: str = ""
    # The row of the file last given (the header is row 1), for messages.
    row_number: int = 0
    # The row last given as the user's spreadsheet numbers it (the first row is 1): a CSV
    # record spanning lines is one row, and a workbook's rows keep their own numbers.
    sheet_row: int = 0
    # How many cells holding a formula without a saved value were read so far.
    formulas_without_value: int = 0

    @abc.abstractmethod
    def rows(self) -> Iterator[list]:
        """The data rows, each a list of cell values."""

    @abc.abstractmethod
    def progress(self) -> float:
        """How far reading got, from 0 to 1."""

    @abc.abstractmethod
    def consumed(self) -> int:
        """About how many bytes of cells have been read so far: batches are cut by it, so a
        list of huge rows is held a few rows at a time."""


class CsvTable(Table):
    def __init__(self, raw, encoding: str, size: int, limits: Limits):
        self._raw = raw
        self._size = max(size, 1)
        self._limits = limits
        self.encoding = encoding
        # The encoding is the whole file's (detect_encoding): a byte it cannot read is an
        # error, never a replacement character.
        self._text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
        sample = self._text.read(8192)
        self.delimiter = _sniff_delimiter(sample)
        self._text.seek(0)
        # The csv module's own limit on a field, shared by the process, is at least ours:
        # a longer cell is refused by the check below, naming the row.
        if csv.field_size_limit() < limits.cell_chars + 1:
            csv.field_size_limit(limits.cell_chars + 1)
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        first = None
        for row in self._read():
            if any(cell.strip() for cell in row):
                first = row
                break
        if first is None:
            raise UnreadableFile(_("The file is empty."))
        self.header = clean_header(first)
        self._header_row = self.row_number

    def _read(self) -> Iterator[list]:
        limits, reader = self._limits, self._reader
        columns, cell_chars = limits.columns, limits.cell_chars
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                row_number = self.row_number + 1
                if "field larger" in str(error):
                    raise limits.cell_too_long(row_number) from error
                raise UnreadableFile(
                    _("Row %(row)s cannot be read as CSV.") % {"row": f"{row_number:,}"},
                    row_number,
                ) from error
            except UnicodeDecodeError as error:
                raise UnreadableFile(
                    _("Row %(row)s is not in %(encoding)s like the rest of the file.")
                    % {"row": f"{self.row_number + 1:,}", "encoding": self.encoding},
                    self.row_number + 1,
                ) from error
            self.row_number = reader.line_num
            self.sheet_row += 1
            if len(row) > columns:
                raise limits.too_many_columns(self.row_number)
            if max(map(len, row), default=0) > cell_chars:
                raise limits.cell_too_long(self.row_number)
            yield row

    def rows(self) -> Iterator[list]:
        limit, data = self._limits.rows, 0
        for row in self._read():
            if row and any(row):
                data += 1
                if data > limit:
                    raise self._limits.too_many_rows(self.row_number)
                yield row

    def progress(self) -> float:
        return min(self._raw.tell() / self._size, 1.0)

    def consumed(self) -> int:
        return self._raw.tell()


class XlsxTable(Table):
    """The first worksheet of a workbook, parsed as it is decompressed: only the shared
    strings and the row being read are held, never the sheet.

    Excel, openpyxl, XlsxWriter and the like write a sheet's rows in one plain shape, which
    regular expressions read several times faster than an XML parser builds elements. A
    sheet holding anything else (comments, CDATA, a DTD, another encoding) is read again by
    lxml from the start, past the rows already given."""

    def __init__(self, path: str, limits: Limits | None = None):
        limits = limits or Limits.from_settings()
        # Harmless before anything is parsed: no document type declaration, and no more
        # than the limit once expanded (the zip's sizes are held to as it is read).
        try:
            with open(path, "rb") as handle:
                workbook_check(handle, max_expanded_bytes=limits.expanded_bytes)
        except ValidationError as error:
            message = error.messages[0]
            if error.code == "too_large":
                raise LimitExceeded(message) from error
            if error.code == "not_xlsx":
                raise _unreadable_workbook() from error
            raise UnreadableFile(message) from error
        try:
            self._archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise _unreadable_workbook() from error
        self._sheet = None
        self._limits = limits
        self._read_bytes = 0
        try:
            self._workbook = _Workbook(self._archive, limits)
            self._total = max(self._workbook.sheet_size, 1)
            self._done = 0
            self._iter = self._read_rows()
            for row in self._iter:
                if any(cell not in ("", None) for cell in row):
                    if len(row) > limits.columns:
                        raise limits.too_many_columns(self.row_number)
                    self.header = clean_header(row)
                    self._width = len(row)
                    break
            else:
                raise UnreadableFile(_("The file is empty."))
        except BaseException as error:
            self.close()
            if isinstance(error, _DAMAGED) and not isinstance(error, UnreadableFile):
                raise _unreadable_workbook() from error
            raise

    def rows(self) -> Iterator[list]:
        width, limit, data = self._width, self._limits.rows, 0
        for row in self._iter:
            if any(cell not in ("", None) for cell in row):
                data += 1
                if data > limit:
                    raise self._limits.too_many_rows(self.row_number)
                if len(row) < width:
                    row.extend([None] * (width - len(row)))
                yield row

    def progress(self) -> float:
        return min(self._done / self._total, 1.0)

    def consumed(self) -> int:
        return self._read_bytes + self._workbook.strings.read_from_disk

    def close(self) -> None:
        if self._sheet is not None:
            self._sheet.close()
        if getattr(self, "_workbook", None) is not None:
            self._workbook.strings.close()
        self._archive.close()

    def _counted(self, row: list, number: str | None = None) -> list:
        """A row of the sheet, empty or not, counted: no sheet Excel writes holds more than
        1,048,576, and a row may not reach past the column limit. `number` is the row's own
        (its r attribute): Excel leaves empty rows out of the file, and the rows after
        them keep the numbers the user sees; numbers never go back."""
        self.row_number += 1
        if number and number.isdigit() and int(number) > self.row_number:
            self.row_number = int(number)
        self.sheet_row = self.row_number
        if self.row_number > EXCEL_MAX_ROWS:
            raise LimitExceeded(
                _("The sheet has more than %(limit)s rows, more than Excel allows.")
                % {"limit": f"{EXCEL_MAX_ROWS:,}"},
                self.row_number,
            )
        return row

    def _open_sheet(self):
        if self._sheet is not None:
            self._sheet.close()
        self._sheet = self._archive.open(self._workbook.sheet)
        self._done = 0
        return self._sheet.read

    def _read_rows(self, plain: bool = True) -> Iterator[list]:
        """The sheet's rows in order, each as its cells' values (None where a cell is
        missing); rows without cells, or left out of the sheet, are left out here too."""
        given = 0
        self.row_number = self.formulas_without_value = 0
        try:
            if plain:
                try:
                    for row in self._scan_rows():
                        given += 1
                        yield row
                    self._done = self._total
                    return
                except _NotPlain:
                    pass
            # The count of formulas without a value only grows (an import looks at the
            # rows again when it has changed), so it is not started again here.
            self.row_number = 0
            for number, row in enumerate(self._parse_rows()):
                if number >= given:
                    yield row
            self._done = self._total
        except _DAMAGED as error:
            if isinstance(error, UnreadableFile):
                raise
            raise _unreadable_workbook() from error

    def _scan_rows(self) -> Iterator[list]:
        """The plain shape, read with regular expressions; _NotPlain when it is not."""
        read = self._open_sheet()
        decoder = codecs.getincrementaldecoder("utf-8")()
        value, inline_text, columns = self._workbook.value, _inline_text, _COLUMNS
        limits, counted = self._limits, self._counted
        max_columns, cell_chars = limits.columns, limits.cell_chars
        # A row's XML may be no longer than its cells at their longest, and then some.
        max_row = max_columns * (cell_chars * 8 + 256) + (1 << 16)
        buffer, started, first = "", False, True
        tokens = _token_pattern("").findall
        row_r = None
        while True:
            chunk = read(_XML_CHUNK)
            self._done += len(chunk)
            self._read_bytes += len(chunk)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                raise _NotPlain from None
            if first:
                text, first = _after_declaration(text), False
            searched = max(len(buffer) - 64, 0)
            buffer += text
            if not started:
                if "<!" in buffer or "<?" in buffer:
                    raise _NotPlain
                opening = _SHEET_DATA.search(buffer)
                if opening is None:
                    buffer = buffer[-64:]
                    if not chunk:
                        return
                    continue
                if opening.group(2):  # <sheetData/>
                    return
                started, buffer, searched = True, buffer[opening.end() :], 0
                tokens = _token_pattern(opening.group(1)).findall
            closing = None
            if buffer.find("sheetData", searched) >= 0:
                closing = _SHEET_DATA_END.search(buffer, searched)
            if closing is not None:
                cut = closing.start()
            elif chunk:
                cut = _after_last_row(buffer, searched)
            else:
                raise _unreadable_workbook()
            values: list = []
            for (
                starts_row,
                row_r_text,
                ends_row,
                letters,
                style,
                kind,
                extra,
                formula,
                number,
                inline,
                rest,
                odd,
            ) in tokens(buffer, 0, cut):
                if starts_row:
                    row_r = row_r_text
                    continue
                if ends_row:
                    counted(values, row_r)
                    row_r = None
                    if values:
                        yield values
                        values = []
                    continue
                if odd or (extra and _ATTRIBUTE.search(extra)):
                    raise _NotPlain
                if letters:
                    column = columns.get(letters)
                    if column is None:
                        column = _column_index(letters)
                    if column > len(values):
                        if column >= max_columns:
                            raise limits.too_many_columns(self.row_number + 1)
                        values.extend([None] * (column - len(values)))
                if number:
                    if len(number) > cell_chars:
                        raise limits.cell_too_long(self.row_number + 1)
                    if "&" in number:
                        number = _xml_entities(number)
                    values.append(value(kind, style, number))
                elif formula and kind != "str":
                    # An empty <v> after a formula: its result was never saved (an
                    # empty text result is saved as t="str").
                    self.formulas_without_value += 1
                    values.append(FORMULA_WITHOUT_VALUE)
                elif kind == "inlineStr":
                    if not inline:
                        inline = inline_text(rest)
                    elif "&" in inline or "_x" in inline:
                        inline = _xml_text(inline)
                    if len(inline) > cell_chars:
                        raise limits.cell_too_long(self.row_number + 1)
                    values.append(inline)
                elif rest and not rest.isspace():
                    raise _NotPlain
                else:
                    values.append(None)
            if len(values) > max_columns:
                raise limits.too_many_columns(self.row_number + 1)
            if values:
                yield values
            if closing is not None:
                return
            buffer = buffer[cut:]
            if len(buffer) > max_row:
                raise LimitExceeded(
                    _("Row %(row)s is larger than a row of %(columns)s cells can be.")
                    % {"row": f"{self.row_number + 1:,}", "columns": f"{max_columns:,}"},
                    self.row_number + 1,
                )

    def _parse_rows(self) -> Iterator[list]:
        """Any well-formed sheet, read with lxml, one <row> element at a time."""
        read = self._open_sheet()
        parser = etree.XMLPullParser(
            events=("end",), tag="{*}row", resolve_entities=False, no_network=True
        )
        value = self._workbook.value
        limits = self._limits
        cell_tag = value_tag = inline_tag = formula_tag = None
        while True:
            chunk = read(_XML_CHUNK)
            self._done += len(chunk)
            self._read_bytes += len(chunk)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for _event, row in parser.read_events():
                if cell_tag is None:
                    namespace = row.tag[: -len("row")]
                    cell_tag, value_tag = namespace + "c", namespace + "v"
                    inline_tag, formula_tag = namespace + "is", namespace + "f"
                values: list = []
                for cell in row:
                    if cell.tag != cell_tag:
                        continue
                    ref = cell.get("r")
                    if ref is not None:
                        column = _column_index(ref.rstrip("0123456789"))
                        if column > len(values):
                            if column >= limits.columns:
                                raise limits.too_many_columns(self.row_number + 1)
                            values.extend([None] * (column - len(values)))
                    kind = cell.get("t")
                    if kind == "inlineStr":
                        inline = cell.find(inline_tag)
                        text = None if inline is None else _rich_text(inline)
                    else:
                        text = cell.findtext(value_tag)
                    if text and len(text) > limits.cell_chars:
                        raise limits.cell_too_long(self.row_number + 1)
                    if kind == "inlineStr":
                        values.append(text)
                    elif text:
                        values.append(value(kind, cell.get("s"), text))
                    elif (text is None or kind != "str") and cell.find(formula_tag) is not None:
                        # No <v>, or an empty one not of a text result: the formula's
                        # result was never saved.
                        self.formulas_without_value += 1
                        values.append(FORMULA_WITHOUT_VALUE)
                    else:
                        values.append(None)
                if len(values) > limits.columns:
                    raise limits.too_many_columns(self.row_number + 1)
                self._counted(values, row.get("r"))
                # What was read is dropped, so the tree stays one row deep.
                row.clear()
                parent = row.getparent()
                while row.getprevious() is not None:
                    del parent[0]
                if values:
                    yield values
            if not chunk:
                return


# --- the workbook's parts ----------------------------------------------------------------------

# Excel's own date and time formats; 27-36 and 50-58 are the dates of Chinese (and
# Japanese) Excel. 46 is an elapsed time, a number of hours rather than a moment.
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), 45, 47, *range(50, 59)])
# In a format code: quoted text, an escaped character, padding and fill.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.')
_FORMAT_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)
_FORMAT_BRACKETS = re.compile(r"\[[^\]]*\]")
_FORMAT_DATE_PARTS = re.compile(r"[dmyhs]", re.IGNORECASE)
# Characters XML cannot hold, which Excel writes as _x000D_ and the like.
_ESCAPED_CHARACTER = re.compile(r"_x([0-9A-Fa-f]{4})_")
_MAX_COLUMNS = 16384
# What reading a damaged archive or part raises (a wrong shared string index included).
# What reading a damaged or unusual workbook can raise. (zipfile raises NotImplementedError
# for a compression method or zip feature it does not support.)
_DAMAGED = (
    etree.XMLSyntaxError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    UnicodeDecodeError,
    IndexError,
    ValueError,
    NotImplementedError,
)
_EPOCH_1900 = datetime.datetime(1899, 12, 30)
_EPOCH_1904 = datetime.datetime(1904, 1, 1)
_REL_TYPE_END = {"worksheet": "/worksheet", "strings": "/sharedStrings", "styles": "/styles"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
_COLUMNS: dict[str, int] = {}
# The plain shape of a sheet's XML: rows of cells, each cell's reference letters, type,
# style, formula and value, then anything else it holds (an inline string). Any namespace
# prefix is allowed.
_P = r"<(?:[\w.-]+:)?"
_E = r"</(?:[\w.-]+:)?"
_SHEET_DATA = re.compile(r"<((?:[\w.-]+:)?)sheetData\b[^>]*?(/?)>")
_SHEET_DATA_END = re.compile(_E + r"sheetData\s*>")
_ROW_END = re.compile(_E + r"row\s*>")


@functools.lru_cache(maxsize=16)
def _token_pattern(prefix: str) -> re.Pattern:
    """A row's start (with its number when r comes first) or end; or a cell: its
    reference's letters, style and type when written in that order with double quotes
    (anything else lands in the seventh group), then either a value after an optional
    formula (the formula's group says whether there was one), a plain inline string, or
    whatever else the cell holds; or else something odd: a cell that does not end, a tag
    with another prefix, a comment, CDATA, a processing instruction or an extension. Tags
    carry the prefix the sheet gave <sheetData>, written out, which is much quicker than
    matching any prefix."""
    p, e = "<" + re.escape(prefix), "</" + re.escape(prefix)
    return re.compile(
        f'({p}row(?=[\\s/>])(?:\\s+r="(\\d*)")?)|({e}row\\s*>)|{p}c(?=[\\s/>])'
        r'(?:\s+r="([A-Z]*)\d*")?(?:\s+s="(\d*)")?(?:\s+t="(\w*)")?([^>]*?)'
        f"(?:/>|>(?:({p}f\\b[^>]*?(?:/>|>[^<]*{e}f>))?{p}v>([^<]*){e}v>"
        f"|{p}is>{p}t>([^<]*){e}t>{e}is>|(.*?)){e}c>)"
        f"|(<[!?]|{_E}row\\b|{_P}(?:c(?=[\\s/>])|extLst\\b))",
        re.DOTALL,
    )


_ATTRIBUTE = re.compile(r"\s[rst]\s*=")
_INLINE_T = re.compile(_P + r"t\b[^>]*>([^<]*)</")
_PHONETIC = re.compile(_P + r"rPh\b.*?</(?:[\w.-]+:)?rPh\s*>", re.DOTALL)
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_DECLARATION = re.compile(r"<\?xml\b[^>]*?\?>")
_DECLARED_ENCODING = re.compile(r"""encoding\s*=\s*["']([^"']*)""")


class _NotPlain(Exception):
    """The sheet holds something the regular expressions do not read."""


def _after_declaration(text: str) -> str:
    """The sheet's text past its XML declaration; _NotPlain unless it is UTF-8."""
    text = text.removeprefix("\ufeff")
    declaration = _DECLARATION.match(text)
    if declaration is None:
        return text
    encoding = _DECLARED_ENCODING.search(declaration.group())
    if encoding and encoding.group(1).lower().replace("-", "").replace("_", "") != "utf8":
        raise _NotPlain
    return text[declaration.end() :]


def _entity(match) -> str:
    name = match.group(1)
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
    return _ENTITIES[name]


def _xml_entities(text: str) -> str:
    return _ENTITY.sub(_entity, text) if "&" in text else text


def _xml_text(text: str) -> str:
    """Character data as XML means it: entities replaced, then Excel's _x000D_ escapes."""
    return _unescape(_xml_entities(text))


def _after_last_row(buffer: str, searched: int) -> int:
    """Where the buffer's last complete row ends (0 if none does), looking back no
    further than `searched`, where the previous look stopped."""
    position = len(buffer)
    while (position := buffer.rfind("</", searched, position)) >= 0:
        end = _ROW_END.match(buffer, position)
        if end is not None:
            return end.end()
    return 0


def _inline_text(content: str) -> str:
    """An inline string's text from the XML inside its cell, phonetic guides left out."""
    if "<!" in content or "<?" in content:
        raise _NotPlain
    if "rPh" in content:
        content = _PHONETIC.sub("", content)
    return _xml_text("".join(_INLINE_T.findall(content)))


def _unreadable_workbook() -> UnreadableFile:
    return UnreadableFile(_("This is not an Excel workbook we can read."))


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _column_index(letters: str) -> int:
    """The column of a reference's letters ("C" of "C5"), counted from 0."""
    index = _COLUMNS.get(letters)
    if index is None:
        if not letters.isascii() or not letters.isalpha() or len(letters) > 3:
            raise _unreadable_workbook()
        index = 0
        for letter in letters.upper():
            index = index * 26 + ord(letter) - 64
        index -= 1
        if index >= _MAX_COLUMNS:
            raise _unreadable_workbook()
        _COLUMNS[letters] = index
    return index


def _unescape(text: str) -> str:
    if "_x" in text:
        text = _ESCAPED_CHARACTER.sub(lambda m: chr(int(m.group(1), 16)), text)
    # NUL, which no database text holds, written as _x0000_ or &#0;: nobody sees it.
    return text.replace("\0", "") if "\0" in text else text


def _is_date_format(code: str) -> bool:
    code = _FORMAT_LITERALS.sub("", code)
    if _FORMAT_ELAPSED.search(code):
        return False
    return bool(_FORMAT_DATE_PARTS.search(_FORMAT_BRACKETS.sub("", code)))


def _number(text: str):
    """A numeric cell as Python keeps it: 13812345678 stays an int, 0.5 is a float."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and abs(number) < 1e16 else number


def _moment(serial: float, date1904: bool):
    """An Excel serial date as a date, a datetime, or a time of day when under one day."""
    if date1904:
        epoch = _EPOCH_1904
    else:
        # Excel counts a 29 February 1900 that never was; days before it are one off.
        epoch = _EPOCH_1900 if serial >= 61 else _EPOCH_1900 + datetime.timedelta(days=1)
    try:
        moment = epoch + datetime.timedelta(milliseconds=round(serial * 86_400_000))
    except (OverflowError, ValueError):
        return serial
    if 0 <= serial < 1:
        return moment.time()
    if moment.time() == datetime.time():
        return moment.date()
    return moment


def _iso_moment(text: str):
    """A cell of type d: an ISO 8601 date, datetime or time, as text."""
    for kind in (datetime.date, datetime.datetime, datetime.time):
        try:
            moment = kind.fromisoformat(text)
        except ValueError:
            continue
        if isinstance(moment, datetime.datetime) and moment.time() == datetime.time():
            return moment.date()
        return moment
    return text


class _Workbook:
    """Where the first worksheet is, and what its cells need to be read: the shared
    strings, which styles are dates, and the workbook's date system."""

    def __init__(self, archive: zipfile.ZipFile, limits: Limits):
        self._archive = archive
        self._limits = limits
        self.strings = _SharedStrings()
        self._names = {name.lower(): name for name in archive.namelist()}
        workbook = self._target("_rels/.rels", "/officeDocument") or "xl/workbook.xml"
        folder, name = posixpath.split(workbook)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        relations = self._relations(rels, folder)
        root = self._parse(workbook)
        self.date1904 = False
        sheet = None
        for element in () if root is None else root.iter():
            local = _local(element.tag)
            if local == "workbookPr":
                self.date1904 = element.get("date1904", "").lower() in ("1", "true")
            elif local == "sheet" and sheet is None:
                ids = [v for k, v in element.attrib.items() if _local(k) == "id" and "}" in k]
                target, kind = relations.get(ids[0], (None, "")) if ids else (None, "")
                if target and kind.endswith(_REL_TYPE_END["worksheet"]):
                    sheet = target
        sheet = self._name(sheet) or self._name("xl/worksheets/sheet1.xml")
        if sheet is None:
            raise _unreadable_workbook()
        self.sheet = sheet
        self.sheet_size = archive.getinfo(sheet).file_size
        found = dict.fromkeys(("strings", "styles"))
        for target, relation in relations.values():
            for kind in found:
                if relation.endswith(_REL_TYPE_END[kind]):
                    found[kind] = target
        self.strings = self._shared_strings(found["strings"] or "xl/sharedStrings.xml")
        self.date_styles = self._date_styles(found["styles"] or "xl/styles.xml")

    def value(self, kind: str | None, style: str | None, text: str):
        """A cell's value from its type (t), style (s) and the text of its <v>."""
        if not kind or kind == "n":
            number = _number(text)
            if style in self.date_styles and type(number) is not str:
                return _moment(number, self.date1904)
            return number
        if kind == "s":
            return self.strings[int(text)]
        if kind == "b":
            return text in ("1", "true")
        if kind == "d":
            return _iso_moment(text)
        return _unescape(text)

    def _name(self, name: str | None) -> str | None:
        return self._names.get(name.lower()) if name else None

    def _parse(self, name: str):
        actual = self._name(name)
        if actual is None:
            return None
        try:
            return etree.fromstring(self._archive.read(actual), _PARSER)
        except etree.XMLSyntaxError as error:
            raise _unreadable_workbook() from error

    def _relations(self, name: str, folder: str) -> dict[str, tuple[str, str]]:
        """The part's relationships: id -> (path in the archive, type)."""
        root = self._parse(name)
        relations = {}
        for element in () if root is None else root:
            target = element.get("Target")
            if _local(element.tag) != "Relationship" or not target:
                continue
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = posixpath.normpath(posixpath.join(folder, target))
            relations[element.get("Id")] = (path, element.get("Type", ""))
        return relations

    def _target(self, rels: str, kind: str) -> str | None:
        for path, relation in self._relations(rels, "").values():
            if relation.endswith(kind):
                return path
        return None

    def _shared_strings(self, name: str) -> "_SharedStrings":
        strings = self.strings
        actual = self._name(name)
        if actual is None:
            return strings
        cell_chars = self._limits.cell_chars
        try:
            with self._archive.open(actual) as part:
                for _event, item in etree.iterparse(
                    part, tag="{*}si", resolve_entities=False, no_network=True
                ):
                    text = _rich_text(item)
                    if len(text) > cell_chars:
                        raise self._limits.cell_too_long(None)
                    strings.append(text)
                    item.clear()
                    while item.getprevious() is not None:
                        del item.getparent()[0]
        except etree.XMLSyntaxError as error:
            raise _unreadable_workbook() from error
        strings.done()
        return strings

    def _date_styles(self, name: str) -> frozenset[str]:
        """The style indexes (as the s attribute writes them) that show a date or time."""
        root = self._parse(name)
        if root is None:
            return frozenset()
        custom, styles = {}, []
        for element in root:
            local = _local(element.tag)
            if local == "numFmts":
                for number_format in element:
                    custom[number_format.get("numFmtId")] = number_format.get("formatCode", "")
            elif local == "cellXfs":
                styles = [xf.get("numFmtId", "0") for xf in element if _local(xf.tag) == "xf"]
        dates = set()
        for index, format_id in enumerate(styles):
            if format_id in custom:
                is_date = _is_date_format(custom[format_id])
            else:
                is_date = format_id.isdigit() and int(format_id) in _DATE_FORMAT_IDS
            if is_date:
                dates.add(str(index))
        return frozenset(dates)


class _SharedStrings:
    """A workbook's shared strings: in memory up to a budget, then in a temporary file, so
    a workbook whose strings expand enormously costs disk, not memory."""

    def __init__(self):
        self._memory: list[str] = []
        self._used = 0
        self._file = None
        self._ends = array("Q")
        self.read_from_disk = 0

    def append(self, text: str) -> None:
        if len(self._memory) + len(self._ends) >= _MAX_SHARED_STRINGS:
            raise LimitExceeded(
                _("The workbook holds more than %(limit)s different texts.")
                % {"limit": f"{_MAX_SHARED_STRINGS:,}"}
            )
        if self._file is None:
            self._used += len(text) + 64
            if self._used <= _STRINGS_IN_MEMORY:
                self._memory.append(text)
                return
            self._file = tempfile.TemporaryFile(prefix="waihu-strings-")  # noqa: SIM115
            self._end = 0
        data = text.encode("utf-8", "surrogatepass")
        self._file.write(data)
        self._end += len(data)
        self._ends.append(self._end)

    def done(self) -> None:
        if self._file is not None:
            self._file.flush()

    def __getitem__(self, index: int) -> str:
        memory = self._memory
        if 0 <= index < len(memory):
            return memory[index]
        spilled = index - len(memory)
        if index < 0 or spilled >= len(self._ends):
            raise IndexError(index)
        start = self._ends[spilled - 1] if spilled else 0
        data = os.pread(self._file.fileno(), self._ends[spilled] - start, start)
        self.read_from_disk += len(data)
        return data.decode("utf-8", "surrogatepass")

    def __len__(self) -> int:
        return len(self._memory) + len(self._ends)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _rich_text(element) -> str:
    """The text of a shared or inline string: its <t>, or its runs' <t>s joined; phonetic
    guides (<rPh>) are not part of it."""
    parts = []
    for child in element:
        local = _local(child.tag)
        if local == "t":
            parts.append(child.text or "")
        elif local == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return _unescape("".join(parts))


def file_format(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    return {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix)


@contextmanager
def open_table(
    path: str | Path, fmt: str, encoding: str | None = None, limits: Limits | None = None
) -> Iterator[Table]:
    """The list at `path` opened for reading, held to `limits` (the settings' by default);
    CSV is decoded as it streams."""
    path = str(path)
    limits = limits or Limits.from_settings()
    if fmt == "xlsx":
        table = XlsxTable(path, limits)
        try:
            yield table
        finally:
            table.close()
        return
    # An encoding given is the one the file's inspection found reading it whole (NUL bytes
    # and mixed encodings refused then); the file has not changed since.
    encoding = encoding or detect_encoding(path)
    size = Path(path).stat().st_size
    with open(path, "rb") as raw:
        try:
            table = CsvTable(raw, encoding, size, limits)
        except csv.Error as error:
            raise UnreadableFile(_("This is not a CSV file we can read.")) from error
        yield table
