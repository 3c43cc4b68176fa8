"""Per-question tables recomputed from the raw answers: the demo's fifteen questions fed a
known set of answers, the numeric questions, and the constant number of queries."""

import math
import statistics
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.selectors import ResultFilters, scope_responses
from reports.tables import question_tables
from surveys.engine import AnswerValue
from surveys.models import Answer, QuestionType
from tests.reports.data import demo_dataset, interview
from tests.surveys.factories import english_questionnaire

pytestmark = pytest.mark.django_db


def pct(n, base):
    return float(Fraction(n) * 100 / base) if base else None


def codes_of(spec):
    if isinstance(spec, AnswerValue):
        return set(spec.choices)
    if isinstance(spec, int):
        return {spec}
    if isinstance(spec, set):
        return spec
    return set()


def test_demo_tables_give_back_every_count_and_percentage(demo_version):
    taken = demo_dataset(demo_version, count=40)
    responses = scope_responses(version=demo_version)
    assert responses.count() == 40
    tables = {
        t.question.code: t for t in question_tables(version=demo_version, responses=responses)
    }
    assert list(tables) == [f"Q{i}" for i in range(1, 16)]

    for code, table in tables.items():
        given = [a[code] for a in taken if code in a]
        assert table.asked == len(given), code
        assert table.dont_know == given.count("dk"), code
        assert table.refused == given.count("refused"), code
        real = [g for g in given if g not in ("dk", "refused", "")]
        assert table.valid == len(real), code
        if table.type == QuestionType.TEXT:
            assert table.no_answer == given.count("")
            continue
        chosen = [codes_of(g) for g in real]
        mentions = sum(len(c) for c in chosen)
        assert table.mentions == mentions
        for row in table.rows:
            n = sum(1 for c in chosen if row.code in c)
            assert row.count == n, (code, row.code)
            assert row.percent == pct(n, len(real)), (code, row.code)
            if table.type == QuestionType.MULTIPLE:
                assert row.percent_of_answers == pct(n, mentions)
        if table.type == QuestionType.SCALE:
            values = [next(iter(c)) for c in chosen]
            assert table.summary.mean == pytest.approx(statistics.mean(values), rel=1e-15)
            assert table.summary.sd == pytest.approx(statistics.stdev(values), rel=1e-12)
            top = sum(1 for v in values if v in (1, 2))
            assert table.top_two == top
            assert table.top_two_percent == pct(top, len(real))

    # Several-answer questions are a percentage of respondents and add up past 100%.
    assert sum(r.percent for r in tables["Q8"].rows) > 100
    assert sum(r.percent_of_answers for r in tables["Q8"].rows) == pytest.approx(100)
    # "Don't know" and "refused" are shown against the base and left out of valid shares.
    q10 = tables["Q10"]
    assert q10.dont_know > 0
    assert sum(r.percent for r in q10.rows) == pytest.approx(100)
    assert q10.dont_know_percent == pct(q10.dont_know, q10.asked)


def test_demo_counts_by_hand(demo_version):
    """Three interviews whose every figure is known without any code."""
    base = {
        "Q1": 1, "Q2": 3, "Q3": 3, "Q4": 2, "Q5": 1, "Q6": {1, 2}, "Q7": 3, "Q8": {1, 2},
        "Q9": 1, "Q10": 2, "Q11": 1, "Q12": 1, "Q13": 2, "Q14": {4}, "Q15": "信号差",
    }  # fmt: skip
    interview(demo_version, base)
    interview(demo_version, {**base, "Q1": 2, "Q2": "refused", "Q6": {9}, "Q8": {2}, "Q9": 4,
                             "Q10": "dk", "Q15": ""} | {"Q7": None})  # fmt: skip
    interview(demo_version, {**base, "Q3": 1, "Q6": {3}, "Q9": 2, "Q10": 5})
    tables = {
        t.question.code: t
        for t in question_tables(
            version=demo_version, responses=scope_responses(version=demo_version)
        )
    }
    q1 = tables["Q1"]
    assert (q1.asked, q1.valid, [r.count for r in q1.rows]) == (3, 3, [2, 1])
    assert [round(r.percent, 2) for r in q1.rows] == [66.67, 33.33]
    q2 = tables["Q2"]
    assert (q2.asked, q2.valid, q2.refused) == (3, 2, 1)
    assert [r.count for r in q2.rows] == [0, 0, 2, 0]
    assert q2.rows[2].percent == 100.0
    assert tables["Q7"].asked == 2  # skipped by the one who uses no value-added service
    q8 = tables["Q8"]
    assert [r.count for r in q8.rows][:2] == [2, 3]
    assert [r.percent for r in q8.rows][:2] == [pct(2, 3), 100.0]
    assert q8.rows[1].percent_of_answers == pct(3, 5)
    q9 = tables["Q9"]
    assert q9.summary.mean == pytest.approx(7 / 3)
    assert q9.top_two == 2
    assert q9.top_two_percent == pct(2, 3)
    q10 = tables["Q10"]
    assert (q10.valid, q10.dont_know) == (2, 1)
    assert q10.summary.mean == 3.5
    assert q10.summary.sd == pytest.approx(math.sqrt(4.5))
    assert (tables["Q15"].valid, tables["Q15"].no_answer) == (2, 1)


def test_numbers_and_recommendation_scores():
    version = english_questionnaire()
    hours = [Decimal(3), Decimal("7.5"), Decimal(20), "refused", Decimal(3)]
    scores = [Decimal(10), Decimal(7), Decimal(3), Decimal(9), Decimal(6)]
    for h, s in zip(hours, scores, strict=True):
        interview(version, {"Q1": 1, "Q2": 2, "Q5": {1}, "Q6": h, "Q7": s, "Q8": "ok"})
    tables = {
        t.question.code: t
        for t in question_tables(version=version, responses=scope_responses(version=version))
    }
    q6 = tables["Q6"]
    numbers = [3, 7.5, 20, 3]
    assert (q6.asked, q6.valid, q6.refused) == (5, 4, 1)
    assert q6.summary.mean == statistics.mean(numbers)
    assert q6.summary.median == statistics.median(numbers)
    assert (q6.summary.minimum, q6.summary.maximum) == (Decimal(3), Decimal(20))
    q7 = tables["Q7"]
    assert (q7.promoters, q7.passives, q7.detractors) == (2, 1, 2)
    assert q7.nps == 0.0
    assert [r.count for r in q7.rows] == [0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1]
    assert tables["Q8"].asked == 3  # promoters go straight to the closing


def test_tables_take_a_constant_number_of_queries(demo_version):
    demo_dataset(demo_version, count=5)
    responses = scope_responses(version=demo_version)
    with CaptureQueriesContext(connection) as few:
        question_tables(version=demo_version, responses=responses)
    demo_dataset(demo_version, count=30, seed=9)
    with CaptureQueriesContext(connection) as many:
        question_tables(version=demo_version, responses=responses)
    # (Optional multiple choices, the demo's reasons and improvements, count the people
    # who ticked something in a query of their own.)
    assert len(few) == len(many) <= 12


def test_filters_narrow_the_interviews(demo_version, analyst):
    demo_dataset(demo_version, count=20, agents=[analyst, None])
    everyone = scope_responses(version=demo_version)
    by_agent = scope_responses(version=demo_version, filters=ResultFilters(agent_id=analyst.pk))
    assert by_agent.count() == 10
    import datetime

    first_days = ResultFilters(
        date_from=datetime.date(2026, 3, 1), date_to=datetime.date(2026, 3, 2)
    )
    assert scope_responses(version=demo_version, filters=first_days).count() == 4
    all_statuses = scope_responses(version=demo_version, filters=ResultFilters(statuses="all"))
    assert all_statuses.count() == everyone.count() + 2
    q1 = question_tables(version=demo_version, responses=by_agent)[0]
    expected = Answer.objects.filter(
        question__code="Q1", question__version=demo_version, response__created_by=analyst,
        response__status="completed",
    ).count()  # fmt: skip
    assert q1.asked == expected == 10


def test_an_optional_multiple_choice_left_empty_is_not_a_respondent():
    from surveys import services
    from surveys.demo import DEMO_PARTS
    from tests.reports.data import bulk_interviews

    version = services.questionnaire_create(name="Optional")
    services.version_update_parts(version=version, **DEMO_PARTS)
    q = services.question_add(
        version=version, type=QuestionType.MULTIPLE, text="Which?", required=False
    )
    for label in ("a", "b", "c"):
        services.choice_add(question=q, label=label)
    services.version_publish(version=version)
    import datetime

    from django.utils import timezone

    now = timezone.now() - datetime.timedelta(hours=1)
    given = [{"Q1": {1, 2}}, {"Q1": None}, {"Q1": {2}}, {"Q1": None}]
    bulk_interviews(version, [(g, None, now) for g in given])
    responses = scope_responses(version=version)
    (table,) = question_tables(version=version, responses=responses)
    assert (table.asked, table.valid, table.no_answer) == (4, 2, 2)
    assert [r.count for r in table.rows] == [1, 2, 0]
    # By default of everyone asked, as the customer's reports count; or of those who answered.
    assert (table.base, table.rows[1].percent) == (4, 50.0)
    (table,) = question_tables(version=version, responses=responses, base="answered")
    assert (table.base, table.rows[1].percent) == (2, 100.0)


def _figures(tables):
    return [
        (t.asked, t.valid, t.dont_know, t.refused, [(r.code, r.count) for r in t.rows])
        for t in tables
    ]


@pytest.mark.parametrize("as_list", [5000, 0])
def test_counting_the_left_out_gives_the_same_tables(demo_version, analyst, monkeypatch, as_list):
    """Most interviews in scope: counts over everything less those left out (as a list of
    ids or as a subquery); few in scope: counts over a join. Both agree with each other."""
    from reports import tables as module

    monkeypatch.setattr(module, "EXCLUDED_AS_LIST", as_list)
    demo_dataset(demo_version, count=30, agents=[analyst, None, None])
    most = scope_responses(version=demo_version, filters=ResultFilters(statuses="ended"))
    assert module._Scope.of(demo_version, most).excluded is not None
    few = scope_responses(version=demo_version, filters=ResultFilters(agent_id=analyst.pk))
    assert module._Scope.of(demo_version, few).excluded is None
    for responses in (most, few):
        fast = question_tables(version=demo_version, responses=responses)
        monkeypatch.setattr(
            module._Scope, "of", classmethod(lambda cls, v, r: cls(included=r.values("pk")))
        )
        joined = question_tables(version=demo_version, responses=responses)
        monkeypatch.undo()
        monkeypatch.setattr(module, "EXCLUDED_AS_LIST", as_list)
        assert _figures(fast) == _figures(joined)
    assert question_tables(version=demo_version, responses=most)[0].asked == 31
