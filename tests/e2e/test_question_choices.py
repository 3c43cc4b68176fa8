"""An outbound administrator edits a question's choices in the browser: two labels
changed, a choice added and one deleted, all in one save."""

import pytest

from accounts.roles import Role
from surveys import services
from surveys.models import QuestionType
from tests.e2e.conftest import login
from tests.factories import UserFactory
from tests.surveys.test_views import build


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_edit_add_and_delete_choices_in_one_save(page, live_server):
    designer = UserFactory(username="designer", roles=[Role.OUTBOUND_ADMIN], password="pw")
    question = services.question_add(
        version=build(designer), type=QuestionType.MULTIPLE, code="Q4", text="Which?"
    )
    for label in ("Mobile internet", "Ring-back tones", "Fetion"):
        services.choice_add(question=question, label=label)
    login(page, live_server, "designer", "pw")
    page.goto(f"{live_server.url}/questionnaires/questions/{question.pk}/")

    form = page.locator("[data-testid=choices-form]")
    form.locator("[name=choices-0-label]").fill("Mobile data")
    form.locator("[name=choices-1-label]").fill("Ring tones")
    form.locator("[name=choices-2-DELETE]").check()
    # The blank row is there without the script; the button adds another.
    form.locator("[data-testid=add-choice-row]").click()
    assert form.locator("[data-testid=choice-row]").count() == 5
    assert page.locator("[name=choices-TOTAL_FORMS]").input_value() == "5"
    form.locator("[name=choices-4-label]").fill("None of these")
    form.locator("[name=choices-4-code]").fill("9")
    form.locator("[name=choices-4-exclusive]").check()
    with page.expect_navigation():
        form.locator("[data-testid=save-choices]").click()

    assert "The choices are saved." in page.locator("main").inner_text()
    assert list(
        question.choices.order_by("position").values_list("code", "label", "exclusive")
    ) == [(1, "Mobile data", False), (2, "Ring tones", False), (9, "None of these", True)]
    labels = form.locator("[name$=-label]").evaluate_all("inputs => inputs.map(i => i.value)")
    assert labels[:3] == ["Mobile data", "Ring tones", "None of these"]
