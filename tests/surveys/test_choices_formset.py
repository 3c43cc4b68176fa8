"""All the choices of a question are edited on one form and saved together, in one
transaction: labels and codes changed, choices added, moved and deleted; nothing is saved
when any row is wrong."""

import datetime

import pytest
from django.utils import timezone

from surveys import services
from surveys.models import Answer, AnswerChoice, Choice, QuestionType, Response, Rule
from tests.surveys.test_views import (
    admin,  # noqa: F401
    build,
    login,
    messages_of,
    q,
    question_page,
    url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(admin):  # noqa: F811
    return build(admin)


@pytest.fixture
def question(draft):
    question = services.question_add(
        version=draft, type=QuestionType.MULTIPLE, code="Q4", text="Which services do you use?"
    )
    for label in ("Mobile internet", "Ring-back tones", "Fetion"):
        services.choice_add(question=question, label=label)
    return question


def rows_of(question) -> list[dict]:
    """The choices as the form shows them."""
    return [
        {
            "id": c.pk,
            "code": c.code,
            "label": c.label,
            "keypad": c.keypad,
            "exclusive": c.exclusive,
            "specify": c.specify,
            "ORDER": position,
        }
        for position, c in enumerate(question.choices.order_by("position"), start=1)
    ]


def post_data(rows: list[dict], initial: int) -> dict:
    data = {
        "choices-TOTAL_FORMS": str(len(rows)),
        "choices-INITIAL_FORMS": str(initial),
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            if value is True:
                data[f"choices-{index}-{name}"] = "on"
            elif value is not False and value is not None:
                data[f"choices-{index}-{name}"] = str(value)
    return data


def saved(question) -> list[tuple]:
    return list(question.choices.order_by("position").values_list("code", "label", "exclusive"))


def test_the_question_page_shows_every_choice_in_one_form(client, admin, question):  # noqa: F811
    html = login(client, admin).get(question_page(question)).content.decode()
    assert url("question_choices", question.pk) in html
    assert 'name="choices-TOTAL_FORMS" value="4"' in html  # three choices and a blank row
    for label in ("Mobile internet", "Ring-back tones", "Fetion"):
        assert f'value="{label}"' in html


def test_labels_a_new_choice_a_deletion_and_the_order_saved_together(
    client,
    admin,  # noqa: F811
    question,
):
    rows = rows_of(question)
    rows[0]["label"] = "Mobile data"
    rows[1]["label"] = "Ring tones"
    rows[2]["DELETE"] = True
    rows.append({"label": "None of these", "code": 9, "exclusive": True, "ORDER": 0})
    response = login(client, admin).post(
        url("question_choices", question.pk), post_data(rows, initial=3)
    )
    assert response.status_code == 302
    assert response["Location"] == question_page(question, "choices")
    # The new row's position 0 puts it first.
    assert saved(question) == [
        (9, "None of these", True),
        (1, "Mobile data", False),
        (2, "Ring tones", False),
    ]
    assert list(question.choices.values_list("position", flat=True).order_by("position")) == [
        1,
        2,
        3,
    ]
    assert "The choices are saved." in messages_of(client.get(response["Location"]))


def test_two_choices_may_swap_their_codes_in_one_save(client, admin, question):  # noqa: F811
    rows = rows_of(question)
    rows[0]["code"], rows[1]["code"] = 2, 1
    response = login(client, admin).post(
        url("question_choices", question.pk), post_data(rows, initial=3)
    )
    assert response.status_code == 302
    assert saved(question) == [
        (2, "Mobile internet", False),
        (1, "Ring-back tones", False),
        (3, "Fetion", False),
    ]


def test_a_code_used_twice_is_refused_on_its_row_and_nothing_is_saved(
    client,
    admin,  # noqa: F811
    question,
):
    before = saved(question)
    rows = rows_of(question)
    rows[0]["label"] = "Changed"
    rows.append({"label": "Another", "code": 2, "ORDER": 4})
    response = login(client, admin).post(
        url("question_choices", question.pk), post_data(rows, initial=3)
    )
    assert response.status_code == 200
    assert response.context["focus"] == "choices"
    forms = response.context["choice_formset"].forms
    assert forms[3].errors["code"] == ["Code 2 is already used by another choice of this question."]
    # What was typed stays on the form.
    assert forms[0]["label"].value() == "Changed"
    assert saved(question) == before


def test_a_label_left_empty_is_refused(client, admin, question):  # noqa: F811
    before = saved(question)
    rows = rows_of(question)
    rows[1]["label"] = "   "
    response = login(client, admin).post(
        url("question_choices", question.pk), post_data(rows, initial=3)
    )
    assert response.status_code == 200
    assert response.context["choice_formset"].forms[1].errors["label"] == [
        "Give the choice a label."
    ]
    assert "The choices were not saved; see the errors below." in messages_of(response)
    assert saved(question) == before


def test_a_choice_answers_chose_cannot_be_deleted(client, admin, draft, question):  # noqa: F811
    chosen = question.choices.get(code=1)
    response = Response.objects.create(
        version=draft,
        started_at=timezone.now() - datetime.timedelta(minutes=1),
        current_question=question,
    )
    answer = Answer.objects.create(response=response, question=question, answered_at=timezone.now())
    AnswerChoice.objects.create(answer=answer, question=question, choice=chosen)
    rows = rows_of(question)
    rows[0]["DELETE"] = True
    rows[1]["label"] = "Changed"
    page = login(client, admin).post(
        url("question_choices", question.pk), post_data(rows, initial=3)
    )
    assert page.status_code == 200
    assert page.context["choice_formset"].forms[0].non_field_errors() == [
        "Choice “Mobile internet” cannot be deleted: answers have chosen it. "
        "Change its label instead."
    ]
    assert Choice.objects.filter(pk=chosen.pk).exists()
    assert question.choices.get(code=2).label == "Ring-back tones"


def test_deleting_a_choice_a_rule_tests_says_so(client, admin, draft):  # noqa: F811
    first = q(draft, "Q1")
    rule = first.rules.get()
    rows = rows_of(first)
    no = next(row for row in rows if row["code"] == 2)
    no["DELETE"] = True
    response = login(client, admin).post(
        url("question_choices", first.pk), post_data(rows, initial=2), follow=True
    )
    assert response.redirect_chain[-1][0] == question_page(first, "rules")
    assert any("1 skip rule tested a deleted choice" in m for m in messages_of(response))
    assert list(first.choices.values_list("code", flat=True)) == [1]
    assert not Rule.objects.get(pk=rule.pk).choices.exists()


def test_a_published_version_takes_no_change(client, admin):  # noqa: F811
    published = build(admin, name="Published", publish=True)
    first = q(published, "Q1")
    rows = rows_of(first)
    rows[0]["label"] = "Changed"
    response = login(client, admin).post(
        url("question_choices", first.pk), post_data(rows, initial=2), follow=True
    )
    assert any("is published" in m for m in messages_of(response))
    assert first.choices.order_by("position").first().label == "Yes"
