"""Bar charts drawn as inline SVG: no script, no outside service."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 420
LABEL_WIDTH = 150
BAR_AREA = 210
ROW = 22
BAR = 14


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    bars: list[tuple[str, float | None]], *, title: str = "", unit: str = "%"
) -> SafeString:
    """Horizontal bars, one per (label, value); values are scaled to the largest (at least
    100 for percentages, so shares of the same base compare at a glance)."""
    values = [v or 0.0 for _label, v in bars]
    top = max([*values, 100.0 if unit == "%" else 0.0]) or 1.0
    height = ROW * len(bars) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waihu-chart" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, (label, value) in enumerate(bars):
        y = 4 + i * ROW
        length = 0.0 if value is None else BAR_AREA * (value / top)
        shown = "–" if value is None else f"{value:.1f}{unit}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR - 2}" text-anchor="end" '
            f'font-size="12">{escape(_short(label))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}" '
            f'fill="#0d6efd"><title>{escape(label)}: {shown}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR - 2}" '
            f'font-size="11">{shown}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def table_chart(table) -> SafeString:
    """The chart beside a question table: the valid percentages of its rows."""
    if not table.rows:
        return mark_safe("")
    return bar_chart([(row.label, row.percent) for row in table.rows], title=table.question.code)
