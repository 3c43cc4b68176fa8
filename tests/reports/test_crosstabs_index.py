"""Cross-tabs and the satisfaction index recomputed from the raw answers."""

from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from scipy.stats import chi2_contingency

from reports import hooks
from reports.crosstabs import HIGHER, LOWER, crosstab
from reports.index import SOURCE_ATTRIBUTES, SOURCE_NONE, SOURCE_QUESTION, satisfaction_index
from reports.models import SegmentWeight
from reports.selectors import ResultFilters, scope_responses
from reports.tables import question_tables, version_questions
from surveys.models import Question
from tests.reports.data import demo_dataset

pytestmark = pytest.mark.django_db


def codes(spec):
    if isinstance(spec, int):
        return {spec}
    if isinstance(spec, set):
        return spec
    return set(getattr(spec, "choices", ()))


def q(version, code):
    return Question.objects.get(version=version, code=code)


def test_question_against_question(demo_version):
    taken = demo_dataset(demo_version, count=80)
    responses = scope_responses(version=demo_version)
    with CaptureQueriesContext(connection) as queries:
        table = crosstab(
            row=q(demo_version, "Q9"), column=q(demo_version, "Q3"), responses=responses
        )
    assert len(queries) <= 8
    expected = Counter((a["Q9"], a["Q3"]) for a in taken)
    assert table.counts == [[expected[r, c] for c in range(1, 5)] for r in range(1, 6)]
    assert table.column_bases == [sum(1 for a in taken if a["Q3"] == c) for c in range(1, 5)]
    assert table.total_base == 80
    assert table.percents[0][0] == float(Fraction(expected[1, 1] * 100, table.column_bases[0]))
    live = [row for row in table.counts if any(row)]
    reference = chi2_contingency(live, correction=False)
    assert table.chi.statistic == pytest.approx(reference.statistic)
    assert table.chi.p_value == pytest.approx(reference.pvalue)
    for i, row in enumerate(table.chi.residuals):
        for j, z in enumerate(row):
            mark = HIGHER if z and z > 1.96 else LOWER if z and z < -1.96 else ""
            assert table.marks[i][j] == mark


def test_multiple_choice_rows_use_respondent_bases_and_no_test(demo_version):
    taken = demo_dataset(demo_version, count=50)
    with translation.override("en"):
        table = crosstab(
            row=q(demo_version, "Q8"),
            column=q(demo_version, "Q1"),
            responses=scope_responses(version=demo_version),
        )
    for j, gender in enumerate((1, 2)):
        people = [a for a in taken if a["Q1"] == gender]
        assert table.column_bases[j] == len(people)
        for i, reason in enumerate(range(1, 7)):
            assert table.counts[i][j] == sum(1 for a in people if reason in a["Q8"])
    assert table.total_counts == [sum(1 for a in taken if r in a["Q8"]) for r in range(1, 7)]
    assert table.chi is None
    assert "multiple-choice" in table.notes[0]


def brand_of(response):
    return ["神州行", "全球通", "动感地带", "TD"][int(response.reference[1:]) % 4]


@pytest.fixture
def brands(no_attribute_source):
    from surveys.models import Response

    def source(responses):
        return {
            r.pk: {"brand": brand_of(r), "region": "长沙", "segment": ""}
            for r in Response.objects.filter(pk__in=responses.values("pk"))
        }

    hooks.register_attribute_source(source)
    return source


def test_question_against_a_contact_attribute(demo_version, brands):
    taken = demo_dataset(demo_version, count=40)
    responses = scope_responses(version=demo_version)
    table = crosstab(row=q(demo_version, "Q1"), column="brand", responses=responses)
    by_brand = Counter()
    for i, a in enumerate(taken):
        by_brand[a["Q1"], ["神州行", "全球通", "动感地带", "TD"][i % 4]] += 1
    assert table.column_labels == sorted({"神州行", "全球通", "动感地带", "TD"})
    assert table.counts == [[by_brand[g, b] for b in table.column_labels] for g in (1, 2)]
    assert table.column_bases == [10, 10, 10, 10]
    assert table.chi is not None
    filtered = scope_responses(
        version=demo_version, filters=ResultFilters(attribute="brand", attribute_value="TD")
    )
    assert filtered.count() == 10


def test_attribute_filter_is_ignored_without_a_source(demo_version, no_attribute_source):
    hooks._sources.clear()
    demo_dataset(demo_version, count=6)
    filters = ResultFilters(attribute="brand", attribute_value="TD")
    assert scope_responses(version=demo_version, filters=filters).count() == 6


def _expected_index(taken, segment_of):
    weights = {"Easyown": 50, "GoTone": 25, "M-Zone": 20, "TD": 5}
    scales = ["Q9", "Q10", "Q11", "Q12", "Q13"]
    scores = {}
    for name in weights:
        people = [a for i, a in enumerate(taken) if segment_of(i, a) == name]
        shares = []
        for code in scales:
            valid = [a[code] for a in people if a[code] not in ("dk", "refused")]
            if valid:
                shares.append(Fraction(sum(1 for v in valid if v in (1, 2)) * 100, len(valid)))
        scores[name] = sum(shares) / len(shares) if shares else None
    used = {k: w for k, w in weights.items() if scores[k] is not None}
    return scores, float(sum(used[k] * scores[k] for k in used) / sum(used.values()))


def test_index_from_the_brand_question(demo_version, no_attribute_source):
    hooks._sources.clear()
    taken = demo_dataset(demo_version, count=60)
    responses = scope_responses(version=demo_version)
    questions = version_questions(version=demo_version)
    tables = question_tables(version=demo_version, responses=responses, questions=questions)
    result = satisfaction_index(questions=questions, tables=tables, responses=responses)
    assert result.source == SOURCE_QUESTION
    assert result.source_question.code == "Q3"
    names = {1: "GoTone", 2: "M-Zone", 3: "Easyown", 4: "TD"}  # G3 is the TD brand
    scores, index = _expected_index(taken, lambda i, a: names[a["Q3"]])
    for segment in result.segments:
        assert segment.score == pytest.approx(float(scores[segment.name]))
        assert segment.respondents == sum(1 for a in taken if names[a["Q3"]] == segment.name)
    assert result.index == pytest.approx(index)
    valid = [item for item in result.items if item.valid]
    assert len(result.weakest) == min(3, len(valid) // 2)
    assert not {i.question.pk for i in result.weakest} & {i.question.pk for i in result.strongest}
    assert result.weakest[0].percent == min(item.percent for item in result.items)
    assert [t.percent for t in result.targets] == [Decimal("78.00")]
    assert result.targets[0].met == (index >= 78)


def test_index_from_contact_attributes_and_changed_weights(demo_version, brands):
    SegmentWeight.objects.filter(name="TD").update(weight=Decimal(0))
    taken = demo_dataset(demo_version, count=40)
    responses = scope_responses(version=demo_version)
    questions = version_questions(version=demo_version)
    tables = question_tables(version=demo_version, responses=responses, questions=questions)
    result = satisfaction_index(questions=questions, tables=tables, responses=responses)
    assert result.source == SOURCE_ATTRIBUTES
    names = {"神州行": "Easyown", "全球通": "GoTone", "动感地带": "M-Zone", "TD": "TD"}
    brand = ["神州行", "全球通", "动感地带", "TD"]
    scores, _index = _expected_index(taken, lambda i, a: names[brand[i % 4]])
    expected = (50 * scores["Easyown"] + 25 * scores["GoTone"] + 20 * scores["M-Zone"]) / 95
    assert result.index == pytest.approx(float(expected))


def test_index_without_any_segment_source(no_attribute_source):
    hooks._sources.clear()
    from tests.surveys.factories import english_questionnaire

    version = english_questionnaire()
    responses = scope_responses(version=version)
    questions = version_questions(version=version)
    tables = question_tables(version=version, responses=responses, questions=questions)
    result = satisfaction_index(questions=questions, tables=tables, responses=responses)
    assert result.source == SOURCE_NONE
    assert result.index is None
