"""The kept counts: after any sequence of answers, changed answers, back-steps (which reopen
ended interviews), endings and rebuilds, on any interviews, they equal a recount of the
interviews, and the tables read from them equal the tables computed from the answers. The
results pages and the index read them with a number of queries that does not grow with the
interviews, and say where their figures come from."""

import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.models import Tally, TallyScope
from reports.results import results_build
from reports.selectors import STATUS_SETS, ResultFilters, scope_responses
from reports.tables import question_tables
from reports.tallies import kept_counts, kept_rows, recounted_rows, tallies_rebuild
from surveys import services
from surveys.engine import AnswerValue
from surveys.models import Question, QuestionType, Response
from tests.reports.data import demo_dataset

pytestmark = pytest.mark.django_db


def figures(tables):
    return [
        (
            t.question.code,
            t.asked,
            t.valid,
            t.dont_know,
            t.refused,
            t.mentions,
            t.top_two,
            t.promoters,
            t.passives,
            t.detractors,
            t.summary,
            [(r.label, r.code, r.count, r.percent, r.percent_of_answers) for r in t.rows],
        )
        for t in tables
    ]


def assert_exact(version):
    assert kept_rows(version=version) == recounted_rows(version=version)
    kept = kept_counts(version=version)
    for statuses in STATUS_SETS:
        responses = scope_responses(version=version, filters=ResultFilters(statuses=statuses))
        computed = question_tables(version=version, responses=responses)
        from_kept = question_tables(
            version=version, responses=responses, kept=kept.over(STATUS_SETS[statuses])
        )
        assert figures(from_kept) == figures(computed), statuses


def a_value(question: Question, rng: random.Random) -> AnswerValue:
    """A value for the question, valid or not (the services refuse the invalid ones)."""
    roll = rng.random()
    if roll < 0.04:
        return AnswerValue.dont_know()
    if roll < 0.07:
        return AnswerValue.refused()
    if question.type in (QuestionType.NUMBER, QuestionType.NPS):
        return AnswerValue.of_number(Decimal(rng.choice([0, 3, 7, 9, 10, 25, 120])))
    if question.type == QuestionType.TEXT:
        return AnswerValue.of_text(rng.choice(["", "信号不好", "ok"]))
    codes = [c.code for c in question.choices.all()]
    if not codes:
        return AnswerValue.missing()
    if question.type == QuestionType.MULTIPLE:
        return AnswerValue.of_choices(*rng.sample(codes, rng.randint(1, min(3, len(codes)))))
    return AnswerValue.of_choices(rng.choice(codes))


def _run_to_the_end(response: Response, rng: random.Random) -> None:
    """Answer until the interview ends (completed or screened out), retrying refused values."""
    for _attempt in range(60):
        response.refresh_from_db()
        if response.current_question_id is None or response.status != "in_progress":
            return
        q = response.current_question
        try:
            services.response_answer(response=response, question=q, value=a_value(q, rng))
        except ValidationError:
            continue


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["start", "answer", "answer", "run", "revise", "back", "finish"]),
        st.integers(0, 2),
        st.integers(0, 2**16),
    ),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, rebuild_at=st.integers(0, 40))
def test_kept_counts_equal_a_recount_after_any_interviewing(demo_version, steps, rebuild_at):
    """Interviews of earlier examples stay: each example goes on from where the last ended."""
    if not TallyScope.objects.filter(version=demo_version, ready=True).exists():
        tallies_rebuild(version=demo_version)
    mine: list[Response] = []
    for i, (action, which, seed) in enumerate(steps):
        if i == rebuild_at:
            tallies_rebuild(version=demo_version)
        rng = random.Random(seed)
        if action == "start" or not mine:
            mine.append(services.response_start(version=demo_version))
            continue
        response = mine[-1 - which % len(mine)]
        response.refresh_from_db()
        try:
            if action == "answer" and response.current_question_id:
                q = response.current_question
                services.response_answer(response=response, question=q, value=a_value(q, rng))
            elif action == "run":
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
            pass  # refused by the services: nothing changed
    assert_exact(demo_version)


def test_a_version_not_yet_counted_keeps_nothing_until_rebuilt(demo_version):
    response = services.response_start(version=demo_version)
    q1 = Question.objects.get(version=demo_version, code="Q1")
    services.response_answer(response=response, question=q1, value=AnswerValue.of_choices(1))
    assert not Tally.objects.exists()
    assert TallyScope.objects.get(version=demo_version).ready is False
    assert kept_counts(version=demo_version) is None
    tallies_rebuild(version=demo_version)
    services.response_answer(
        response=response,
        question=Question.objects.get(version=demo_version, code="Q2"),
        value=AnswerValue.of_choices(3),
    )
    assert_exact(demo_version)
    kept = kept_counts(version=demo_version)
    assert kept.responses == {"in_progress": 1}
    assert kept.choices[q1.pk] == {q1.choices.get(code=1).pk: 1}


def _page(client, version, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/reports/versions/{version.pk}/", params or {})
    assert response.status_code == 200
    return response, len(queries)


def test_the_results_page_reads_kept_counts_in_the_same_queries_at_any_size(
    client, analyst, demo_version
):
    demo_dataset(demo_version, count=4)
    tallies_rebuild(version=demo_version)
    client.force_login(analyst)
    _page(client, demo_version)  # sessions and caches
    _small, few = _page(client, demo_version)
    demo_dataset(demo_version, count=40, seed=3)
    tallies_rebuild(version=demo_version)
    large, many = _page(client, demo_version)
    assert few == many
    assert "counts kept up to date" in large.content.decode()
    built = results_build(version=demo_version)
    assert built.kept is not None and built.completed == 44
    assert built.tables[0].asked == 44
    # The same page without kept counts computes the same figures.
    TallyScope.objects.filter(version=demo_version).update(ready=False, requested_at=None)
    computed = results_build(version=demo_version)
    assert computed.kept is None
    assert figures(computed.tables) == figures(built.tables)
    assert computed.outcomes == built.outcomes


def test_filters_that_narrow_the_interviews_compute_and_say_so(client, analyst, demo_version):
    demo_dataset(demo_version, count=6, agents=[analyst])
    tallies_rebuild(version=demo_version)
    client.force_login(analyst)
    response, _n = _page(client, demo_version, {"agent": analyst.pk, "statuses": "completed"})
    assert "computed from them" in response.content.decode()
    built = results_build(version=demo_version, filters=ResultFilters(agent_id=analyst.pk))
    assert built.kept is None and built.tables[0].asked == 6


def test_a_version_without_kept_counts_asks_for_them_once(
    client, analyst, demo_version, django_capture_on_commit_callbacks, monkeypatch
):
    from reports import tasks

    queued = []
    monkeypatch.setattr(tasks.tallies_rebuild_task, "delay", queued.append)
    demo_dataset(demo_version, count=3)
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(f"/reports/versions/{demo_version.pk}/")
        client.get(f"/reports/versions/{demo_version.pk}/")
    assert queued == [demo_version.pk]
    assert "being prepared" in first.content.decode()
    tasks.tallies_rebuild_task(demo_version.pk)
    assert_exact(demo_version)
    assert (
        "counts kept up to date"
        in client.get(f"/reports/versions/{demo_version.pk}/").content.decode()
    )


def test_the_index_counts_from_kept_totals_in_the_same_queries(client, analyst, demo_version):
    demo_dataset(demo_version, count=3)
    tallies_rebuild(version=demo_version)
    client.force_login(analyst)
    client.get("/reports/")
    with CaptureQueriesContext(connection) as few:
        client.get("/reports/")
    demo_dataset(demo_version, count=30, seed=5)
    tallies_rebuild(version=demo_version)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/reports/")
    assert len(few) == len(many)
    assert not any("surveys_response" in q["sql"] for q in many)
    (version,) = response.context["versions"]
    # 33 completed; each dataset adds one screened out and one partial.
    assert (version.completed_count, version.response_count) == (33, 37)
    TallyScope.objects.update(ready=False)
    counted = client.get("/reports/").context["versions"][0]
    assert (counted.completed_count, counted.response_count) == (33, 37)
