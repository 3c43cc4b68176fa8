"""Reading contact lists row by row: CSV in whatever encoding Excel saved it (UTF-8 with or
without a BOM, GB18030/GBK, UTF-16) and .xlsx workbooks (first sheet)."""

import abc
import codecs
import csv
import datetime
import functools
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.utils.translation import gettext as _
from lxml import etree

_CHUNK = 1 << 20
_XML_CHUNK = 1 << 16


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


class Table(abc.ABC):
    """An open list: its header, its data rows one at a time, and how far reading got."""

    header: list[str]
    delimiter: str = ""
    encoding: str = ""

    @abc.abstractmethod
    def rows(self) -> Iterator[list]:
        """The data rows, each a list of cell values."""

    @abc.abstractmethod
    def progress(self) -> float:
        """How far reading got, from 0 to 1."""


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
    """The first worksheet of a workbook, parsed as it is decompressed: only the shared
    strings and the row being read are held, never the sheet.

    Excel, openpyxl, XlsxWriter and the like write a sheet's rows in one plain shape, which
    regular expressions read several times faster than an XML parser builds elements. A
    sheet holding anything else (comments, CDATA, a DTD, another encoding) is read again by
    lxml from the start, past the rows already given."""

    def __init__(self, path: str):
        try:
            self._archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise _unreadable_workbook() from error
        self._sheet = None
        try:
            self._workbook = _Workbook(self._archive)
            self._total = max(self._workbook.sheet_size, 1)
            self._done = 0
            self._iter = self._read_rows()
            for row in self._iter:
                if any(cell not in ("", None) for cell in row):
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
        width = self._width
        for row in self._iter:
            if any(cell not in ("", None) for cell in row):
                if len(row) < width:
                    row.extend([None] * (width - len(row)))
                yield row

    def progress(self) -> float:
        return min(self._done / self._total, 1.0)

    def close(self) -> None:
        if self._sheet is not None:
            self._sheet.close()
        self._archive.close()

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
        buffer, started, first = "", False, True
        tokens = _token_pattern("").findall
        while True:
            chunk = read(_XML_CHUNK)
            self._done += len(chunk)
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
            for ends_row, letters, style, kind, extra, number, inline, rest, odd in tokens(
                buffer, 0, cut
            ):
                if ends_row:
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
                        values.extend([None] * (column - len(values)))
                if number:
                    if "&" in number:
                        number = _xml_entities(number)
                    values.append(value(kind, style, number))
                elif kind == "inlineStr":
                    if not inline:
                        inline = inline_text(rest)
                    elif "&" in inline or "_x" in inline:
                        inline = _xml_text(inline)
                    values.append(inline)
                elif rest and not rest.isspace():
                    raise _NotPlain
                else:
                    values.append(None)
            if values:
                yield values
            if closing is not None:
                return
            buffer = buffer[cut:]

    def _parse_rows(self) -> Iterator[list]:
        """Any well-formed sheet, read with lxml, one <row> element at a time."""
        read = self._open_sheet()
        parser = etree.XMLPullParser(
            events=("end",), tag="{*}row", resolve_entities=False, no_network=True
        )
        value = self._workbook.value
        cell_tag = value_tag = inline_tag = None
        while True:
            chunk = read(_XML_CHUNK)
            self._done += len(chunk)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for _event, row in parser.read_events():
                if cell_tag is None:
                    namespace = row.tag[: -len("row")]
                    cell_tag, value_tag = namespace + "c", namespace + "v"
                    inline_tag = namespace + "is"
                values: list = []
                for cell in row:
                    if cell.tag != cell_tag:
                        continue
                    ref = cell.get("r")
                    if ref is not None:
                        column = _column_index(ref.rstrip("0123456789"))
                        if column > len(values):
                            values.extend([None] * (column - len(values)))
                    kind = cell.get("t")
                    if kind == "inlineStr":
                        inline = cell.find(inline_tag)
                        values.append(None if inline is None else _rich_text(inline))
                        continue
                    text = cell.findtext(value_tag)
                    values.append(value(kind, cell.get("s"), text) if text else None)
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
    """A row's end; or a cell: its reference's letters, style and type when written in
    that order with double quotes (anything else lands in the fifth group), then either a
    value after an optional formula, a plain inline string, or whatever else the cell
    holds; or else something odd: a cell that does not end, a tag with another prefix, a
    comment, CDATA, a processing instruction or an extension. Tags carry the prefix the
    sheet gave <sheetData>, written out, which is much quicker than matching any prefix."""
    p, e = "<" + re.escape(prefix), "</" + re.escape(prefix)
    return re.compile(
        f"({e}row\\s*>)|{p}c(?=[\\s/>])"
        r'(?:\s+r="([A-Z]*)\d*")?(?:\s+s="(\d*)")?(?:\s+t="(\w*)")?([^>]*?)'
        f"(?:/>|>(?:(?:{p}f\\b[^>]*?(?:/>|>[^<]*{e}f>))?{p}v>([^<]*){e}v>"
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
        return _ESCAPED_CHARACTER.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


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

    def __init__(self, archive: zipfile.ZipFile):
        self._archive = archive
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

    def _shared_strings(self, name: str) -> list[str]:
        actual = self._name(name)
        if actual is None:
            return []
        strings = []
        try:
            with self._archive.open(actual) as part:
                for _event, item in etree.iterparse(
                    part, tag="{*}si", resolve_entities=False, no_network=True
                ):
                    strings.append(_rich_text(item))
                    item.clear()
                    while item.getprevious() is not None:
                        del item.getparent()[0]
        except etree.XMLSyntaxError as error:
            raise _unreadable_workbook() from error
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
