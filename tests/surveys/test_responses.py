from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db.models import Count

from surveys import services
from surveys.engine import AnswerValue
from surveys.models import Answer, AnswerChoice, ResponseStatus
from tests.surveys.factories import english_questionnaire

pytestmark = pytest.mark.django_db
A = AnswerValue


@pytest.fixture
def version():
    return english_questionnaire()


def answer(response, version, code, value):
    return services.response_answer(
        response=response, question=version.questions.get(code=code), value=value
    )


def answered_codes(response):
    return sorted(Answer.objects.filter(response=response).values_list("question__code", flat=True))


def test_start_needs_a_published_version():
    draft = english_questionnaire(publish=False)
    with pytest.raises(ValidationError):
        services.response_start(version=draft)


@time_machine.travel("2026-03-02 09:00 +0800", tick=False)
def test_start_sits_at_the_first_question(version):
    response = services.response_start(version=version, reference="call-1")
    assert response.status == ResponseStatus.IN_PROGRESS
    assert response.current_question.code == "Q1"
    assert response.reference == "call-1"
    assert response.started_at.isoformat() == "2026-03-02T01:00:00+00:00"


def test_answers_advance_along_the_rules(version):
    response = services.response_start(version=version)
    walk = answer(response, version, "Q1", A.of_choices(1))
    assert walk.current == "Q2"
    walk = answer(response, version, "Q2", A.of_choices(2))
    assert walk.current == "Q5"
    response.refresh_from_db()
    assert response.current_question.code == "Q5"


def test_screen_out_ends_the_response(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(2))
    response.refresh_from_db()
    assert response.status == ResponseStatus.SCREENED_OUT
    assert response.finished_at is not None
    assert response.current_question is None
    with pytest.raises(ValidationError):
        answer(response, version, "Q2", A.of_choices(1))


def full_interview(response, version):
    answer(response, version, "Q1", A.of_choices(1))
    answer(response, version, "Q2", A.of_choices(1))
    answer(response, version, "Q3", A.of_choices(2))
    answer(response, version, "Q4", A.of_text("Shorter waits"))
    answer(response, version, "Q5", A.of_choices(1, 3, specify={3: "Music"}))
    answer(response, version, "Q6", A.of_number("7.5"))
    return answer(response, version, "Q7", A.of_number(9))


def test_completed_interview_stores_every_kind_of_answer(version):
    response = services.response_start(version=version)
    walk = full_interview(response, version)
    assert walk.current is None
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    q5 = Answer.objects.get(response=response, question__code="Q5")
    assert sorted(q5.selected.values_list("choice__code", "specify_text")) == [
        (1, ""),
        (3, "Music"),
    ]
    assert Answer.objects.get(response=response, question__code="Q6").number == Decimal("7.5")
    assert Answer.objects.get(response=response, question__code="Q4").text == "Shorter waits"
    stored = services.response_answers(response=response)
    assert stored["Q5"] == A.of_choices(1, 3, specify={3: "Music"})


def test_changing_an_earlier_answer_drops_answers_off_the_new_path(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(1))
    answer(response, version, "Q2", A.of_choices(1))
    answer(response, version, "Q3", A.of_choices(2))
    answer(response, version, "Q4", A.of_text("x"))
    walk = answer(response, version, "Q2", A.of_choices(2))
    assert walk.stale == frozenset({"Q3", "Q4"})
    assert answered_codes(response) == ["Q1", "Q2"]
    assert not AnswerChoice.objects.filter(answer__response=response, question__code="Q3").exists()
    response.refresh_from_db()
    assert response.current_question.code == "Q5"


def test_back_returns_to_the_previous_question_on_the_path(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(1))
    answer(response, version, "Q2", A.of_choices(2))
    services.response_back(response=response)
    response.refresh_from_db()
    assert response.current_question.code == "Q2"
    services.response_back(response=response)
    response.refresh_from_db()
    assert response.current_question.code == "Q1"
    with pytest.raises(ValidationError):
        services.response_back(response=response)
    # Answers are kept for the agent to see and change.
    assert answered_codes(response) == ["Q1", "Q2"]


def test_back_then_a_different_answer_drops_stale_answers(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(1))
    answer(response, version, "Q2", A.of_choices(1))
    answer(response, version, "Q3", A.of_choices(1))
    services.response_back(response=response)
    services.response_back(response=response)
    answer(response, version, "Q2", A.of_choices(2))
    assert answered_codes(response) == ["Q1", "Q2"]


def test_cannot_answer_a_question_off_the_path(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(1))
    with pytest.raises(ValidationError) as err:
        answer(response, version, "Q6", A.of_number(3))
    assert err.value.error_list[0].code == "not_on_path"


def test_invalid_answers_are_refused_and_nothing_is_saved(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(1))
    answer(response, version, "Q2", A.of_choices(2))
    for value in (A.of_choices(1, 9), A.of_choices(42), A.missing(), A.dont_know()):
        with pytest.raises(ValidationError):
            answer(response, version, "Q5", value)
    answer(response, version, "Q5", A.of_choices(2))
    for value in (A.of_number(169), A.of_number(-1), A.dont_know()):
        with pytest.raises(ValidationError):
            answer(response, version, "Q6", value)
    assert answered_codes(response) == ["Q1", "Q2", "Q5"]
    answer(response, version, "Q6", A.refused())
    assert Answer.objects.get(response=response, question__code="Q6").special == "refused"


def test_voice_survey_moves_on_when_nothing_is_pressed():
    version = english_questionnaire(mode="voice", publish=False)
    version.questionnaire.versions.update(status="published", published_at="2026-01-01T00:00Z")
    version.refresh_from_db()
    response = services.response_start(version=version)
    walk = answer(response, version, "Q1", A.missing())
    assert walk.current == "Q2"
    assert Answer.objects.get(response=response, question__code="Q1").selected.count() == 0


def test_finish_early_is_partial_or_abandoned(version):
    untouched = services.response_start(version=version)
    services.response_finish(response=untouched)
    untouched.refresh_from_db()
    assert untouched.status == ResponseStatus.ABANDONED
    started = services.response_start(version=version)
    answer(started, version, "Q1", A.of_choices(1))
    with pytest.raises(ValidationError):
        services.response_finish(response=started, status=ResponseStatus.COMPLETED)
    services.response_finish(response=started)
    started.refresh_from_db()
    assert started.status == ResponseStatus.PARTIAL
    assert started.finished_at is not None
    with pytest.raises(ValidationError):
        services.response_finish(response=started)


def test_counts_per_choice_come_from_one_group_by(version, django_assert_num_queries):
    for picks in ((1,), (1, 2), (9,)):
        response = services.response_start(version=version)
        answer(response, version, "Q1", A.of_choices(1))
        answer(response, version, "Q2", A.of_choices(2))
        answer(response, version, "Q5", A.of_choices(*picks))
    q5 = version.questions.get(code="Q5")
    with django_assert_num_queries(1):
        counts = dict(
            AnswerChoice.objects.filter(question=q5)
            .values_list("choice__code")
            .annotate(n=Count("id"))
        )
    assert counts == {1: 2, 2: 1, 9: 1}


def test_back_from_the_closing_reopens_at_the_last_question(version):
    response = services.response_start(version=version)
    full_interview(response, version)
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    services.response_back(response=response)
    response.refresh_from_db()
    assert response.status == ResponseStatus.IN_PROGRESS and response.finished_at is None
    assert response.current_question.code == "Q7"
    # A lower score now asks for the reason before the closing.
    assert answer(response, version, "Q7", A.of_number(3)).current == "Q8"
    answer(response, version, "Q8", A.of_text("Too slow"))
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED


def test_a_response_ended_as_partial_stays_closed(version):
    response = services.response_start(version=version)
    answer(response, version, "Q1", A.of_choices(1))
    services.response_finish(response=response)
    with pytest.raises(ValidationError):
        services.response_back(response=response)
