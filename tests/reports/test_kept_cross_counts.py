"""The kept cross counts: after any sequence of interviewing on a campaign's contacts (some
with a brand, region and segment, some without, some interviews with no contact at all),
the cross-tabs of every pair of closed questions, the cross-tabs by contact attribute and
the satisfaction index read from the kept counts equal the ones counted from the answers,
and the kept counts equal a recount. A cross-tab page reads its cells in a number of
queries that does not grow with the interviews."""

import random

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outbound.models import Contact, Interview, WorkOrder
from reports import hooks
from reports.crosstabs import crosstab
from reports.index import satisfaction_index
from reports.models import TallyScope
from reports.selectors import STATUS_SETS, ResultFilters, scope_responses
from reports.tables import CLOSED_TYPES, question_tables, version_questions
from reports.tallies import CROSSED, kept_counts, kept_rows, recounted_rows, tallies_rebuild
from surveys import services
from surveys.engine import AnswerValue
from surveys.models import Question, QuestionType, Response
from tests.factories import Org, make_order
from tests.reports.test_kept_counts import _run_to_the_end, a_value

pytestmark = pytest.mark.django_db

BRANDS = ["全球通", "动感地带", "神州行", "其他品牌", ""]
REGIONS = ["长沙", "株洲", ""]


@pytest.fixture
def order(demo_version):
    org = Org()
    made = make_order(org.requester)
    WorkOrder.objects.filter(pk=made.pk).update(questionnaire=demo_version)
    made.refresh_from_db()
    return made


def _start(order, version, rng: random.Random) -> Response:
    """An interview as the consoles start one: the response first, then (most of the time)
    its link to a contact of the campaign."""
    response = services.response_start(version=version)
    if rng.random() < 0.85:
        contact = Contact.objects.create(
            campaign=order,
            phone=f"+86139{Contact.objects.count():08d}",
            brand=rng.choice(BRANDS),
            region=rng.choice(REGIONS),
            segment=rng.choice(["", "家庭", "青年"]),
        )
        Interview.objects.create(campaign=order, contact=contact, response=response)
    return response


def _table(t):
    return (
        t.row_labels,
        t.column_labels,
        t.counts,
        t.column_bases,
        t.total_counts,
        t.total_base,
        t.unknown,
        None if t.chi is None else (round(t.chi.statistic, 9), t.chi.dof),
        t.marks,
    )


def _index(ix):
    return (
        ix.source,
        ix.index,
        ix.unweighted,
        ix.unmatched,
        [(s.name, s.respondents, sorted(s.items.items())) for s in ix.segments],
    )


def assert_cross_exact(version):
    assert kept_rows(version=version) == recounted_rows(version=version)
    kept = kept_counts(version=version)
    questions = version_questions(version=version)
    closed = [q for q in questions if q.type in CLOSED_TYPES]
    for name, statuses in STATUS_SETS.items():
        over = kept.over(statuses)
        assert over.crossed == all(s in CROSSED for s in statuses)
        if not over.crossed:
            continue
        responses = scope_responses(version=version, filters=ResultFilters(statuses=name))
        for i, row in enumerate(closed):
            for column in closed[i + 1 : i + 4]:
                for a, b in ((row, column), (column, row)):
                    counted = crosstab(row=a, column=b, responses=responses)
                    read = crosstab(row=a, column=b, responses=responses, kept=over)
                    assert _table(read) == _table(counted), (name, a.code, b.code)
            for attribute in hooks.ATTRIBUTES:
                counted = crosstab(row=row, column=attribute, responses=responses)
                read = crosstab(row=row, column=attribute, responses=responses, kept=over)
                assert _table(read) == _table(counted), (name, row.code, attribute)
        tables = question_tables(version=version, responses=responses, questions=questions)
        counted = satisfaction_index(questions=questions, tables=tables, responses=responses)
        read = satisfaction_index(
            questions=questions, tables=tables, responses=responses, kept=over
        )
        assert _index(read) == _index(counted), name


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["start", "run", "run", "revise", "back", "finish"]),
        st.integers(0, 2),
        st.integers(0, 2**16),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, rebuild_at=st.integers(0, 20))
def test_kept_cross_counts_equal_the_counted_crosstabs_and_index(order, steps, rebuild_at):
    version = order.questionnaire
    if not TallyScope.objects.filter(version=version, ready=True).exists():
        tallies_rebuild(version=version)
    mine: list[Response] = []
    for i, (action, which, seed) in enumerate(steps):
        if i == rebuild_at:
            tallies_rebuild(version=version)
        rng = random.Random(seed)
        if action == "start" or not mine:
            mine.append(_start(order, version, rng))
            continue
        response = mine[-1 - which % len(mine)]
        response.refresh_from_db()
        try:
            if action == "run":
                _run_to_the_end(response, rng)
            elif action == "revise":
                answered = list(
                    Question.objects.filter(answers__response=response).prefetch_related("choices")
                )
                if answered:
                    q = rng.choice(answered)
                    services.response_answer(response=response, question=q, value=a_value(q, rng))
            elif action == "back":
                services.response_back(response=response)
            elif action == "finish":
                services.response_finish(response=response)
        except ValidationError:
            pass
    assert_cross_exact(version)


def _finished(order, version, n: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        response = _start(order, version, rng)
        _run_to_the_end(response, rng)


def _crosstab_queries(client, version, row, column) -> int:
    url = reverse("reports:results", args=[version.pk])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url, {"row": row.pk, "column": column})
    assert page.status_code == 200
    assert page.context["crosstab"] is not None
    return len(queries)


def test_a_crosstab_page_reads_kept_counts_in_the_same_queries_at_any_size(client, analyst, order):
    version = order.questionnaire
    tallies_rebuild(version=version)
    closed = [q for q in version_questions(version=version) if q.type in CLOSED_TYPES]
    scale = next(q for q in closed if q.type == QuestionType.SCALE)
    row = next(q for q in closed if q.pk != scale.pk)
    client.force_login(analyst)
    _finished(order, version, 2, seed=1)
    few = {
        column: _crosstab_queries(client, version, row, column)
        for column in (f"q:{scale.pk}", "attr:brand")
    }
    _finished(order, version, 10, seed=2)
    many = {
        column: _crosstab_queries(client, version, row, column)
        for column in (f"q:{scale.pk}", "attr:brand")
    }
    assert many == few


def test_finishing_an_interview_of_a_long_questionnaire_keeps_its_thousands_of_pairs():
    """Forty single choices answered give 3,120 pair keys at the finish, written in bounded
    statements, and the counts stay exact."""
    from surveys.demo import DEMO_PARTS

    version = services.questionnaire_create(name="Long")
    services.version_update_parts(version=version, **DEMO_PARTS)
    for i in range(40):
        q = services.question_add(version=version, type=QuestionType.SINGLE, text=f"Q {i}")
        for j in range(3):
            services.choice_add(question=q, label=f"option {j}")
    services.version_publish(version=version)
    version.refresh_from_db()
    tallies_rebuild(version=version)
    response = services.response_start(version=version)
    while response.status == "in_progress":
        question = response.current_question
        first = question.choices.order_by("position").first()
        services.response_answer(
            response=response, question=question, value=AnswerValue.of_choices(first.code)
        )
        response.refresh_from_db()
    assert response.status == "completed"
    kept = kept_rows(version=version)
    assert sum(n for key, n in kept.items() if key[1] == "pair") == 40 * 39 // 2
    assert kept == recounted_rows(version=version)
