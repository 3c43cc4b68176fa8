"""Workbooks that come from outside are opened only once they are known to be harmless, and
text that goes into a workbook never becomes a formula.

An .xlsx file is a zip of XML parts. Excel and every library that writes one never put a
document type declaration in a part, so a part that declares one (entities that expand a
billion times, or that name files and addresses outside: XXE) is refused before any XML
parser sees it, as is a package that expands past a fixed size (a zip bomb)."""

from __future__ import annotations

import re
import zipfile
import zlib
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Text beginning with one of these is a formula to Excel (or to LibreOffice): written as
# text with Excel's quote prefix, it stays text.
FORMULA_START = ("=", "+", "-", "@")
# How far a questionnaire workbook may expand, and how many parts it may hold: far above
# anything a questionnaire needs.
MAX_EXPANDED_BYTES = 64 * 1024 * 1024
MAX_PARTS = 2000
# The declaration must come before the root element, within the part's first bytes.
_PROLOG_BYTES = 4096
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _prolog(data: bytes) -> bytes:
    """The part's opening bytes as ASCII-compatible text, whatever its encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        encoding = "utf-16-be" if data[0] == 0 else "utf-16-le"
    else:
        return data
    return data.decode(encoding, errors="ignore").encode("ascii", errors="ignore")


def unreadable() -> ValidationError:
    return ValidationError(
        _("The file could not be read as an Excel workbook (.xlsx)."), code="not_xlsx"
    )


def workbook_check(file: IO[bytes], *, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> None:
    """Raises a ValidationError unless `file` is a zip of a sane size whose XML parts
    declare no document type. Leaves the file at its start. (A contact list is far larger
    than a questionnaire: its import gives its own `max_expanded_bytes`.)"""
    try:
        with zipfile.ZipFile(file) as package:
            members = package.infolist()
            if len(members) > MAX_PARTS:
                raise ValidationError(
                    _("The workbook has too many parts (more than %(count)s).")
                    % {"count": MAX_PARTS},
                    code="too_many_parts",
                )
            if sum(member.file_size for member in members) > max_expanded_bytes:
                raise ValidationError(
                    _("The workbook expands to more than %(mb)s MB.")
                    % {"mb": max_expanded_bytes // (1024 * 1024)},
                    code="too_large",
                )
            for member in members:
                if not member.filename.endswith((".xml", ".rels", ".vml")):
                    continue
                with package.open(member) as part:
                    if _DECLARATION.search(_prolog(part.read(_PROLOG_BYTES))):
                        raise ValidationError(
                            _(
                                "The workbook contains a document type declaration, which "
                                "Excel never writes; it is refused."
                            ),
                            code="doctype",
                        )
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
    ) as exc:
        raise unreadable() from exc
    finally:
        file.seek(0)


def is_formula_text(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def cells_as_text(workbook) -> None:
    """Every text cell of a (not write-only) workbook that Excel would take for a formula
    is marked as text with the quote prefix."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if is_formula_text(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
