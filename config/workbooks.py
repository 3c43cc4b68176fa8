"""How Waihu's workbooks look on screen and on paper, for every app that writes one: columns
as wide as their content (so no number or date shows as ###), dates in a date format, the
header row frozen and repeated on every printed page, and each sheet printed to the width
of one page.

Widths are measured in Excel's unit, the width of a digit; a Chinese character takes two.
Sheets written in openpyxl's write-only mode take their layout before their first row, so
a streamed sheet is laid out from its header and the kind of each column."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time
from decimal import Decimal

from openpyxl.utils import get_column_letter

MIN_WIDTH = 6
MAX_WIDTH = 60
PADDING = 2
PAPER_A4 = "9"  # the paper size code of ECMA-376 (SpreadsheetML) for A4
# The width a date needs in openpyxl's formats for dates and times (yyyy-mm-dd h:mm:ss).
DATETIME_WIDTH = len("2026-12-02 18:30:00")
DATE_WIDTH = len("2026-12-02")


def text_width(text: str) -> int:
    """The columns a text takes: wide (East Asian) characters count two, and a text of
    several lines is as wide as its longest line."""
    return max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
            for line in str(text).splitlines() or [""]
        ),
        default=0,
    )


def value_width(value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return DATETIME_WIDTH
    if isinstance(value, date):
        return DATE_WIDTH
    if isinstance(value, time):
        return len("18:30:00")
    if isinstance(value, bool):
        return len("FALSE")
    if isinstance(value, float):
        return len(f"{value:.2f}".rstrip("0").rstrip(".")) + 1
    if isinstance(value, int | Decimal):
        return len(str(value)) + 1
    inner = getattr(value, "value", value)  # a cell object
    if inner is not value:
        shown = getattr(value, "number_format", "") or ""
        if "%" in shown and isinstance(inner, int | float | Decimal):
            # 0.428571 in a percent format shows as 42.9%, with any quoted mark after it.
            return len(f"{float(inner) * 100:.1f}%") + (2 if '"' in shown else 0) + 1
        return value_width(inner)
    return text_width(value)


class ColumnWidths:
    """The widest value seen in each column, fed row by row."""

    def __init__(self):
        self.widths: dict[int, int] = {}

    def feed(self, values, *, only_below: int | None = None) -> None:
        for column, value in enumerate(values, 1):
            width = value_width(value)
            if only_below is not None:
                width = min(width, only_below)
            if width > self.widths.get(column, 0):
                self.widths[column] = width

    def at_least(self, column: int, width: int) -> None:
        self.widths[column] = max(self.widths.get(column, 0), width)

    def apply(self, ws) -> None:
        for column, width in self.widths.items():
            shown = min(max(width + PADDING, MIN_WIDTH), MAX_WIDTH)
            ws.column_dimensions[get_column_letter(column)].width = shown


def print_setup(ws, *, header_rows: int = 1, freeze: bool = False, wide: bool = False) -> None:
    """One page wide however many pages long, the first `header_rows` rows repeated at the
    top of each page (and frozen on screen with `freeze`), landscape for wide sheets."""
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.paperSize = PAPER_A4
    ws.print_options.gridLines = True
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"
        if freeze:
            ws.freeze_panes = f"A{header_rows + 1}"
