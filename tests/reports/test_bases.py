"""A survey with known answers, counted by hand: every count and percentage of its
multiple choices under both bases (everyone asked, those who answered), on the results page
and in the workbook, including an optional multiple choice nobody answered."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.roles import Role
from reports.excel import workbook_write
from reports.results import results_build
from reports.selectors import ResultFilters
from surveys import services
from surveys.demo import DEMO_PARTS
from surveys.models import QuestionType
from tests.factories import UserFactory
from tests.reports.data import bulk_interviews

pytestmark = pytest.mark.django_db

# Ten interviews. Q2 (optional multiple choice): three ticked nothing. Q3 (optional
# multiple choice): nobody ticked anything.
Q2 = [{1}, {1, 2}, {2}, {1, 3}, {1}, {3}, {1, 2, 3}, None, None, None]
Q1 = [1, 2, 1, 1, 2, 1, 2, 1, 1, 2]
# Hand-counted: ticks of each Q2 choice, 7 people answered it, 10 were asked.
Q2_TICKS = {1: 5, 2: 3, 3: 3}
ASKED, ANSWERED = 10, 7


@pytest.fixture
def version(db):
    version = services.questionnaire_create(name="Bases")
    services.version_update_parts(version=version, **DEMO_PARTS)
    q1 = services.question_add(version=version, type=QuestionType.SINGLE, text="Brand?")
    q2 = services.question_add(version=version, type=QuestionType.MULTIPLE, text="Services?")
    q3 = services.question_add(version=version, type=QuestionType.MULTIPLE, text="Apps?")
    for q, labels in ((q1, ("A", "B")), (q2, ("SMS", "Music", "News")), (q3, ("X", "Y"))):
        for label in labels:
            services.choice_add(question=q, label=label)
    services.version_publish(version=version)
    at = timezone.now() - datetime.timedelta(hours=2)
    bulk_interviews(
        version,
        [({"Q1": Q1[i], "Q2": Q2[i], "Q3": None}, None, at) for i in range(ASKED)],
    )
    return version


def expected(base: int) -> dict[int, str]:
    return {code: f"{100 * n / base:.1f}" for code, n in Q2_TICKS.items()}


@pytest.mark.parametrize(("base", "divisor"), [("asked", ASKED), ("answered", ANSWERED)])
def test_the_tables_under_each_base(version, base, divisor):
    results = results_build(version=version, filters=ResultFilters(base=base))
    q1, q2, q3 = results.tables
    assert (q2.asked, q2.valid, q2.no_answer, q2.base) == (ASKED, ANSWERED, 3, divisor)
    assert {r.code: r.count for r in q2.rows} == Q2_TICKS
    assert {r.code: f"{r.percent:.1f}" for r in q2.rows} == expected(divisor)
    # Of the answers: 11 ticks in all, whatever the base.
    assert {r.code: round(r.percent_of_answers, 4) for r in q2.rows} == {
        code: round(100 * n / 11, 4) for code, n in Q2_TICKS.items()
    }
    # Nobody answered Q3: 0% of everyone asked, no percentage of nobody.
    assert (q3.asked, q3.valid) == (ASKED, 0)
    assert [r.percent for r in q3.rows] == ([0.0, 0.0] if base == "asked" else [None, None])
    # A single choice is always of its valid answers.
    assert {r.code: r.count for r in q1.rows} == {1: 6, 2: 4}
    assert [r.percent for r in q1.rows] == [60.0, 40.0]


@pytest.mark.parametrize(("base", "divisor"), [("asked", ASKED), ("answered", ANSWERED)])
def test_the_page_says_its_base_and_shows_its_figures(client, version, base, divisor):
    client.force_login(UserFactory(roles=[Role.ANALYST]))
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("reports:results", args=[version.pk]), {"base": base})
    html = page.content.decode()
    q2 = html[html.index('data-testid="table-Q2"') :]
    q2 = q2[: q2.index("</section>")]
    said = "所有被问到的人" if base == "asked" else "作答的人"
    assert said in q2 and f"{divisor} 人" in q2
    assert "未作答: 3" in q2 and "无人接听" not in q2
    cells = re.findall(r'<td class="text-end">([\d.–]+)</td>', q2)
    for code, share in expected(divisor).items():
        assert share in cells, (code, share, cells)


@pytest.mark.parametrize(("base", "divisor"), [("asked", ASKED), ("answered", ANSWERED)])
def test_the_workbook_keeps_exact_shares_under_each_base(version, base, divisor, tmp_path):
    results = results_build(version=version, filters=ResultFilters(base=base))
    path = tmp_path / "bases.xlsx"
    with translation.override("en"):
        workbook_write(results=results, target=path)
    sheet = load_workbook(path)["Q2"]
    rows = {r[1].value: r for r in sheet.iter_rows(min_row=4) if isinstance(r[1].value, int)}
    for code, n in Q2_TICKS.items():
        count, share = rows[code][2], rows[code][3]
        assert count.value == n
        assert share.value == pytest.approx(n / divisor) and share.number_format == "0.0%"
    text = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert ("everyone asked" if base == "asked" else "those who answered") in text
