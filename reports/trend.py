"""Trend lines drawn as inline SVG, like reports/charts.py: no script, no outside service."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 220
LEFT = 36
RIGHT = 120
TOP = 10
BOTTOM = 28
COLOURS = ("#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#d63384")


def line_chart(
    labels: list[str], lines: list[tuple[str, list[float | None]]], *, title: str = ""
) -> SafeString:
    """One line per (name, values) over the labels (periods), on a 0–100% axis; a period
    without a value breaks the line. Each point carries its value as a tooltip."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / 100)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waihu-chart" role="img" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-label="{escape(title)}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for tick in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#dee2e6"/><text x="{LEFT - 4}" y="{y(tick) + 4:.1f}" font-size="10" '
            f'text-anchor="end">{tick}</text>'
        )
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for n, (name, values) in enumerate(lines):
        colour = COLOURS[n % len(COLOURS)]
        segments: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(values):
            if v is None:
                segments.append([])
                continue
            segments[-1].append((x(i), y(v)))
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)} {escape(labels[i])}: {v:.1f}%</title></circle>"
            )
        for seg in segments:
            if len(seg) > 1:
                points = " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="{2.5 if n == 0 else 1.5}"/>'
                )
        ly = TOP + 14 * n + 8
        parts.append(
            f'<rect x="{LEFT + plot_w + 10}" y="{ly - 8}" width="10" height="10" '
            f'fill="{colour}"/><text x="{LEFT + plot_w + 24}" y="{ly + 1}" '
            f'font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
