"""An outbound administrator designs a questionnaire in the browser: the four parts, four
questions and a skip rule; a reorder leaves the rule jumping back, the checker blocks
publishing, the rule is fixed, the version is published, and the preview is walked down
both branches."""

import os
import re

import pytest

from accounts.roles import Role
from surveys.models import Questionnaire, VersionStatus
from tests.e2e.conftest import login
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PARTS = {
    "greeting-greeting_salutation": "Good morning, {customer_name}.",
    "greeting-greeting_introduction": "This is {agent_name}, agent {agent_no}.",
    "transition-transition_purpose": "We are calling about your recent repair.",
    "transition-transition_duration_minutes": "1",
    "transition-transition_cost": "The call is free of charge.",
    "closing-closing_summary": "You told us how the repair went.",
    "closing-closing_thanks": "Thank you for your time.",
    "closing-closing_wishes": "Have a nice day.",
}

QUESTIONS = [
    ("yes_no", "Was your broadband repaired last week?"),
    ("scale", "How satisfied are you with the repair?"),
    ("text", "What could we do better?"),
    ("nps", "How likely are you to recommend us?"),
]


def submit(page, selector):
    with page.expect_navigation():
        page.click(selector)


def codes_in_order(page):
    return page.locator("[data-testid=question-list] article").evaluate_all(
        "cards => cards.map(c => c.dataset.code)"
    )


def asked_codes(page):
    return page.locator("[data-testid=preview-asked] li").evaluate_all(
        "items => items.map(i => i.dataset.code)"
    )


def current_question(page):
    return page.locator("[data-testid=preview-question]").inner_text().strip()


def preview_answer(page, *, label=None, text=None):
    form = page.locator("[data-testid=preview] form")
    if label is not None:
        form.get_by_label(label, exact=True).check()
    if text is not None:
        form.locator("textarea").fill(text)
    submit(page, "[data-testid=preview-next]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_design_check_publish_and_preview(page, live_server):
    UserFactory(username="designer", roles=[Role.OUTBOUND_ADMIN], password="pw")
    login(page, live_server, "designer", "pw")

    # A new questionnaire.
    page.goto(f"{live_server.url}/questionnaires/")
    submit(page, "[data-testid=new-questionnaire]")
    page.fill("main [name=name]", "Repair callback")
    page.select_option("main [name=language]", "en")
    submit(page, "[data-testid=create-questionnaire]")
    assert page.locator("[data-testid=version-status]").inner_text() == "Draft"

    # The greeting, transition and closing.
    for part in ("greeting", "transition", "closing"):
        for name, value in PARTS.items():
            if name.startswith(part + "-"):
                page.fill(f"[name={name}]", value)
        submit(page, f"#part-{part} button[type=submit]")
        assert page.url.endswith(f"#part-{part}")

    # Four questions, each added from the designer.
    question_urls = []
    for kind, text in QUESTIONS:
        page.select_option("[name=add-type]", kind)
        page.fill("[name=add-text]", text)
        submit(page, "[data-testid=add-question]")
        assert page.locator(".alert-success").count() == 1
        question_urls.append(page.url)
        submit(page, "[data-testid=back-to-designer]")
    assert codes_in_order(page) == ["Q1", "Q2", "Q3", "Q4"]

    # Q1: if the answer is No, skip the satisfaction question and go to Q3.
    page.goto(question_urls[0])
    rule_form = page.locator("#rule-add")
    rule_form.locator("[name=rule-add-condition]").select_option("choice")
    rule_form.get_by_label("No", exact=True).check()
    rule_form.locator("[name=rule-add-action]").select_option("goto")
    assert rule_form.locator("[name=rule-add-target]").is_visible()
    rule_form.locator("[name=rule-add-target]").select_option(label="Q3 What could we do better?")
    submit(page, "[data-testid=add-rule]")
    assert "go to Q3" in page.locator("[data-testid=rule]").inner_text()

    # Moving Q3 to the top leaves Q1's rule pointing behind it.
    submit(page, "[data-testid=back-to-designer]")
    for _ in range(2):
        submit(page, "article[data-code=Q3] [data-testid=move-up]")
    assert codes_in_order(page) == ["Q3", "Q1", "Q2", "Q4"]
    assert (
        page.locator("article[data-code=Q1] [data-testid=rules] .badge").inner_text()
        == "jumps back"
    )

    # Publishing asks first (it cannot be undone); the checker then blocks it and says
    # where and how to fix it.
    page.once("dialog", lambda dialog: dialog.accept())
    submit(page, "[data-testid=publish]")
    assert "/check/" in page.url
    assert "Not published" in page.locator(".alert-danger").first.inner_text()
    finding = page.locator("[data-testid=finding][data-code=rule_target_backward]")
    assert "jumps back to Q3" in finding.inner_text()
    assert page.locator("[data-testid=version-status]").inner_text() == "Draft"
    submit(page, "[data-testid=finding][data-code=rule_target_backward] a")

    # Fix the rule: No now skips to the last question.
    rule = page.locator("[data-testid=rule]")
    rule.locator("select[name$=-target]").select_option(
        label="Q4 How likely are you to recommend us?"
    )
    submit(page, "[data-testid=save-rule]")
    assert "go to Q4" in page.locator("[data-testid=rule]").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    submit(page, "[data-testid=publish]")
    assert page.locator("[data-testid=version-status]").inner_text() == "Published"
    version = Questionnaire.objects.get(name="Repair callback").versions.get()
    assert version.status == VersionStatus.PUBLISHED
    assert page.locator("[data-testid=add-question]").count() == 0

    # The preview: the parts with sample values, then the "yes" branch.
    submit(page, "[data-testid=preview-link]")
    assert "Good morning, Ms Wang." in page.locator("[data-testid=preview]").inner_text()
    submit(page, "[data-testid=preview-start]")
    assert current_question(page) == "Q3"
    preview_answer(page, text="Come on time.")
    assert current_question(page) == "Q1"
    preview_answer(page, label="Yes")
    assert current_question(page) == "Q2"
    preview_answer(page, label="Quite satisfied")
    assert current_question(page) == "Q4"
    preview_answer(page, label="9")
    assert page.locator("[data-testid=preview-end]").get_attribute("data-outcome") == "completed"
    assert asked_codes(page) == ["Q3", "Q1", "Q2", "Q4"]
    assert "Thank you for your time." in page.locator("[data-testid=preview-end]").inner_text()

    # Back twice returns to Q2 with its answer kept, then to Q1; "No" skips Q2.
    submit(page, "[data-testid=preview-back]")
    assert current_question(page) == "Q4"
    submit(page, "[data-testid=preview-back]")
    assert current_question(page) == "Q2"
    assert page.get_by_label("Quite satisfied", exact=True).is_checked()
    submit(page, "[data-testid=preview-back]")
    assert current_question(page) == "Q1"
    preview_answer(page, label="No")
    assert current_question(page) == "Q4"
    assert asked_codes(page) == ["Q3", "Q1"]

    # Restart and walk the "no" branch from the beginning.
    submit(page, "[data-testid=preview-restart]")
    assert page.locator("[data-testid=preview]").get_attribute("data-stage") == "opening"
    submit(page, "[data-testid=preview-start]")
    preview_answer(page, text="Nothing.")
    preview_answer(page, label="No")
    preview_answer(page, label="3")
    assert page.locator("[data-testid=preview-end]").is_visible()
    assert asked_codes(page) == ["Q3", "Q1", "Q4"]
    assert re.search(r"\bQ2\b", page.locator("[data-testid=preview-asked]").inner_text()) is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_questions_move_by_drag_and_drop(page, live_server):
    from tests.surveys.test_views import build

    admin = UserFactory(username="designer", roles=[Role.OUTBOUND_ADMIN], password="pw")
    version = build(admin)
    login(page, live_server, "designer", "pw")
    # Tall enough to show the three questions at once: the drag needs no scrolling.
    page.set_viewport_size({"width": 1280, "height": 2400})
    page.goto(f"{live_server.url}/questionnaires/versions/{version.pk}/")
    assert codes_in_order(page) == ["Q1", "Q2", "Q3"]
    # The page comes back (reloaded) once the server has saved the move.
    with page.expect_event("load"):
        page.drag_and_drop(
            "article[data-code=Q3] [data-testid=question-code]", "article[data-code=Q1]"
        )
    assert codes_in_order(page) == ["Q3", "Q1", "Q2"]
    assert page.url.endswith(
        f"/questionnaires/versions/{version.pk}/#q-" + str(version.questions.get(code="Q3").pk)
    )
    # And back by the keyboard: the arrow buttons are still there.
    page.focus("article[data-code=Q3] [data-testid=move-down]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert codes_in_order(page) == ["Q1", "Q3", "Q2"]
