"""Dates and times are written one way per language, and templates name the format instead
of spelling one out: what Django would print by default (2026年12月2日, Dec. 2, 2026) never
reaches a page."""

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import formats, translation

MOMENT = datetime.datetime(2026, 12, 2, 18, 30)


@pytest.mark.parametrize(
    ("language", "month"), [("zh-hans", "2026年12月"), ("en", "December 2026")]
)
def test_one_format_per_language(language, month):
    with translation.override(language):
        rendered = Template(
            "{{ d }}|{{ d|date }}|{{ d|date:'SHORT_DATE_FORMAT' }}|{{ t }}|"
            "{{ t|date:'SHORT_DATETIME_FORMAT' }}|{{ t|time }}|{{ t|date:'YEAR_MONTH_FORMAT' }}"
        ).render(Context({"d": MOMENT.date(), "t": MOMENT}))
        assert (
            rendered
            == f"2026-12-02|2026-12-02|2026-12-02|2026-12-02 18:30|2026-12-02 18:30|18:30|{month}"
        )
        # Typed dates are still read in the ISO form the inputs send.
        assert "%Y-%m-%d" in formats.get_format("DATE_INPUT_FORMATS")


def test_templates_name_their_formats():
    spelt = re.compile(r'\|(?:date|time):"(?:[^"A-Z_]|[YmdHis])[^"]*"')
    found = []
    base = Path(settings.BASE_DIR)
    for folder in [base / "templates", *sorted(base.glob("*/templates"))]:
        for path in folder.rglob("*.html"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in spelt.finditer(line):
                    # An ISO date compared with another as text, the audit trail's
                    # to-the-second record and a month's period code (2025-03, as the
                    # leaders' filter takes it) are data rather than display.
                    if (
                        "< today" in line[match.end() : match.end() + 10]
                        or "H:i:s" in match.group()
                        or match.group().endswith(':"Y-m"')
                    ):
                        continue
                    found.append(f"{path.relative_to(settings.BASE_DIR)}:{number}: {match.group()}")
    assert not found, "\n".join(found)
