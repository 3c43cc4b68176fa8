"""The questionnaire designer through the test client: who sees and changes what, every write
against the database and its redirect, publishing through the checker, the preview's walk,
and Excel out and in."""

import re
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.timezone import localtime
from openpyxl import load_workbook

from accounts.roles import Role
from surveys import services
from surveys.models import (
    Action,
    Condition,
    Language,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Rule,
    VersionStatus,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PARTS = {
    "greeting_salutation": "Good morning, {customer_name}.",
    "greeting_introduction": "This is {agent_name}, agent {agent_no}, from customer service.",
    "transition_purpose": "We would like to ask you about your home broadband.",
    "transition_duration_minutes": 1,
    "transition_cost": "The call is free of charge.",
    "closing_summary": "You told us how you find your broadband.",
    "closing_thanks": "Thank you for your time.",
    "closing_wishes": "Have a nice day.",
}


def build(owner, *, name="Broadband survey", publish=False) -> QuestionnaireVersion:
    """Q1 yes/no (No jumps to Q3), Q2 satisfaction scale, Q3 open suggestions."""
    version = services.questionnaire_create(name=name, language=Language.EN, created_by=owner)
    services.version_update_parts(version=version, **PARTS)
    q1 = services.question_add(
        version=version,
        type=QuestionType.YES_NO,
        code="Q1",
        text="Do you use home broadband from {brand}?",
    )
    services.question_add(
        version=version, type=QuestionType.SCALE, code="Q2", text="How satisfied are you?"
    )
    q3 = services.question_add(
        version=version,
        type=QuestionType.TEXT,
        code="Q3",
        text="What should we improve?",
        required=False,
    )
    services.rule_add(
        question=q1,
        condition=Condition.CHOICE,
        choices=[q1.choices.get(code=2)],
        action=Action.GOTO,
        target=q3,
    )
    if publish:
        services.version_publish(version=version, published_by=owner)
        version.refresh_from_db()
    return version


@pytest.fixture
def admin():
    return UserFactory(username="oadmin", roles=[Role.OUTBOUND_ADMIN])


@pytest.fixture
def requester():
    return UserFactory(username="req", roles=[Role.REQUESTER])


@pytest.fixture
def other_requester():
    return UserFactory(username="otherreq", roles=[Role.REQUESTER])


@pytest.fixture
def agent():
    return UserFactory(username="agent", roles=[Role.CALL_AGENT])


@pytest.fixture
def analyst():
    return UserFactory(username="analyst", roles=[Role.ANALYST])


@pytest.fixture
def draft(admin):
    return build(admin)


@pytest.fixture
def published(admin):
    return build(admin, name="Published survey", publish=True)


def login(client, user):
    client.force_login(user)
    return client


def url(name, *args):
    return reverse(f"surveys:{name}", args=args)


def q(version, code) -> Question:
    return Question.objects.get(version=version, code=code)


def designer(version, anchor=""):
    return url("version_detail", version.pk) + (f"#{anchor}" if anchor else "")


def question_page(question, anchor=""):
    return url("question_edit", question.pk) + (f"#{anchor}" if anchor else "")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- seeing ------------------------------------------------------------------------------


def read_pages(version) -> list[str]:
    first = q(version, "Q1")
    return [
        url("questionnaire_list"),
        url("version_detail", version.pk),
        url("question_edit", first.pk),
        url("version_check", version.pk),
        url("version_preview", version.pk),
        url("version_export", version.pk),
    ]


@pytest.mark.parametrize("who", ["admin", "requester", "agent", "analyst"])
def test_everyone_signed_in_sees_published_versions(client, request, published, who):
    login(client, request.getfixturevalue(who))
    for page in read_pages(published):
        assert client.get(page).status_code == 200, page
    detail = client.get(url("questionnaire_detail", published.questionnaire.pk))
    assert detail["Location"] == designer(published)


def test_drafts_are_seen_by_their_designers_only(client, admin, requester, other_requester, agent):
    mine = build(requester, name="Mine")
    for user in (admin, requester):
        login(client, user)
        for page in read_pages(mine):
            assert client.get(page).status_code == 200, (user, page)
    for user in (other_requester, agent):
        login(client, user)
        for page in read_pages(mine)[1:]:
            assert client.get(page).status_code == 404, (user, page)
        assert client.get(url("questionnaire_detail", mine.questionnaire.pk)).status_code == 404


def test_signed_out_visitors_are_sent_to_log_in(client, published):
    response = client.get(url("version_detail", published.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_shows_each_questionnaire_with_its_versions(client, admin, published, draft):
    services.version_new_draft(questionnaire=published.questionnaire, created_by=admin)
    response = login(client, admin).get(url("questionnaire_list"))
    html = response.content.decode()
    rows = {r["questionnaire"].name: r["versions"] for r in response.context["rows"]}
    assert [(v.number, v.status) for v in rows["Published survey"]] == [
        (2, VersionStatus.DRAFT),
        (1, VersionStatus.PUBLISHED),
    ]
    assert [v.number for v in rows["Broadband survey"]] == [1]
    assert localtime(published.published_at).strftime("%Y-%m-%d %H:%M") in html
    assert "Used by work orders" in html


def test_list_scopes_drafts_by_role(client, admin, requester, agent, published):
    build(admin, name="Admin draft")
    build(requester, name="Requester draft")
    names = lambda response: {r["questionnaire"].name for r in response.context["rows"]}  # noqa: E731
    assert names(login(client, agent).get(url("questionnaire_list"))) == {"Published survey"}
    assert names(login(client, requester).get(url("questionnaire_list"))) == {
        "Published survey",
        "Requester draft",
    }
    assert names(login(client, admin).get(url("questionnaire_list"))) == {
        "Published survey",
        "Admin draft",
        "Requester draft",
    }
    services.version_new_draft(questionnaire=published.questionnaire, created_by=admin)
    rows = login(client, agent).get(url("questionnaire_list")).context["rows"]
    assert [v.number for v in rows[0]["versions"]] == [1]


@pytest.mark.parametrize("count", [1, 12])
def test_list_page_query_count_does_not_grow(
    client, admin, requester, django_assert_max_num_queries, count
):
    for i in range(count):
        version = build(admin if i % 2 else requester, name=f"Survey {i:02d}", publish=True)
        services.version_new_draft(questionnaire=version.questionnaire, created_by=admin)
    login(client, requester)
    # session, user, groups, inbox count, questionnaires, their versions, the orders using them
    with django_assert_max_num_queries(7):
        response = client.get(url("questionnaire_list"))
    assert len(response.context["rows"]) == count


def test_the_designer_shows_parts_questions_rules_and_placeholders(client, admin, draft):
    html = login(client, admin).get(designer(draft)).content.decode()
    for anchor in ("part-greeting", "part-transition", "part-body", "part-closing"):
        assert f'id="{anchor}"' in html
    assert html.index('id="part-transition"') < html.index('id="part-body"')
    assert html.index('id="part-body"') < html.index('id="part-closing"')
    assert "go to Q3" in html
    assert "{customer_name}" in html and "{brand}" in html
    assert "ready to publish" in html


def test_a_published_version_is_shown_read_only(client, admin, published):
    html = login(client, admin).get(designer(published)).content.decode()
    assert url("version_parts", published.pk, "greeting") not in html
    assert url("question_add", published.pk) not in html
    assert url("questionnaire_new_draft", published.questionnaire.pk) in html
    assert PARTS["closing_thanks"] in html
    first = q(published, "Q1")
    html = client.get(question_page(first)).content.decode()
    assert url("rule_add", first.pk) not in html and url("choice_add", first.pk) not in html
    assert "go to Q3" in html


# --- who may write -----------------------------------------------------------------------


def write_requests(version) -> list[tuple[str, dict]]:
    first = q(version, "Q1")
    choice = first.choices.first()
    rule = first.rules.first()
    return [
        (url("version_parts", version.pk, "greeting"), {"greeting-greeting_salutation": "Hi"}),
        (url("question_add", version.pk), {"add-type": "text", "add-text": "New?"}),
        (url("question_edit", first.pk), {"q-code": "Q1", "q-type": "yes_no"}),
        (url("question_move", first.pk), {"direction": "down"}),
        (url("question_duplicate", first.pk), {}),
        (url("question_delete", first.pk), {}),
        (url("question_preset", first.pk), {"preset": "agreement4"}),
        (url("choice_add", first.pk), {"choice-add-label": "Maybe"}),
        (url("choice_edit", choice.pk), {f"choice-{choice.pk}-label": "Sure", "code": 1}),
        (url("choice_move", choice.pk), {"direction": "down"}),
        (url("choice_delete", choice.pk), {}),
        (url("rule_add", first.pk), {"rule-add-condition": "any", "rule-add-action": "closing"}),
        (url("rule_edit", rule.pk), {f"rule-{rule.pk}-condition": "any"}),
        (url("rule_move", rule.pk), {"direction": "up"}),
        (url("rule_delete", rule.pk), {}),
        (url("version_publish", version.pk), {}),
        (url("version_discard", version.pk), {}),
        (url("questionnaire_new_draft", version.questionnaire.pk), {}),
        (url("questionnaire_import_version", version.questionnaire.pk), {}),
    ]


@pytest.mark.parametrize("who", ["agent", "analyst", "other_requester"])
def test_others_get_403_on_writes_to_what_they_can_see(client, request, published, who):
    login(client, request.getfixturevalue(who))
    before = Question.objects.filter(version=published).count()
    for target, data in write_requests(published):
        assert client.post(target, data).status_code == 403, target
    assert Question.objects.filter(version=published).count() == before
    assert Questionnaire.objects.count() == 1


def test_others_get_404_on_writes_to_drafts_they_cannot_see(client, agent, other_requester):
    owner = UserFactory(username="owner", roles=[Role.REQUESTER])
    version = build(owner)
    for user in (agent, other_requester):
        login(client, user)
        for target, data in write_requests(version):
            assert client.post(target, data).status_code == 404, target
    assert Question.objects.filter(version=version).count() == 3


def test_only_designers_create_copy_and_import(client, agent, published):
    login(client, agent)
    assert client.get(url("questionnaire_create")).status_code == 403
    assert client.post(url("questionnaire_create"), {"name": "X"}).status_code == 403
    assert client.get(url("questionnaire_import")).status_code == 403
    assert client.post(url("version_copy", published.pk)).status_code == 403
    assert Questionnaire.objects.count() == 1


def test_a_requester_edits_their_own_questionnaires_only(client, requester, admin):
    theirs = build(admin, name="Admin's")
    mine = build(requester, name="Mine")
    services.version_publish(version=theirs, published_by=admin)
    login(client, requester)
    response = client.post(url("question_add", mine.pk), {"add-type": "text", "add-text": "A?"})
    assert response.status_code == 302
    response = client.post(url("questionnaire_new_draft", theirs.questionnaire.pk))
    assert response.status_code == 403
    assert theirs.questionnaire.versions.count() == 1


@pytest.mark.parametrize(
    "name",
    ["version_publish", "version_discard", "version_copy", "question_add"],
)
def test_writes_are_post_only(client, admin, draft, name):
    response = login(client, admin).get(url(name, draft.pk))
    assert response.status_code == 405


def test_writes_need_the_csrf_token(admin, draft):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(url("question_add", draft.pk), {"add-type": "text"})
    assert response.status_code == 403
    assert Question.objects.filter(version=draft).count() == 3


# --- questionnaires and parts ------------------------------------------------------------


def test_create_a_questionnaire(client, requester):
    response = login(client, requester).post(
        url("questionnaire_create"),
        {
            "name": "  Repair callback ",
            "language": "en",
            "mode": "agent",
            "kind": "survey",
            "extra_placeholders": "plan, {city}",
        },
    )
    version = QuestionnaireVersion.objects.get()
    assert response["Location"] == designer(version)
    assert version.questionnaire.name == "Repair callback"
    assert version.questionnaire.created_by == requester
    assert version.status == VersionStatus.DRAFT
    assert version.extra_placeholders == ["plan", "city"]


def test_create_shows_every_bad_input(client, admin):
    response = login(client, admin).post(
        url("questionnaire_create"),
        {
            "name": " ",
            "language": "fr",
            "mode": "agent",
            "kind": "survey",
            "extra_placeholders": "1x",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"name", "language", "extra_placeholders"}
    assert "1x" in errors["extra_placeholders"][0]
    assert not Questionnaire.objects.exists()


def test_save_a_part(client, admin, draft):
    response = login(client, admin).post(
        url("version_parts", draft.pk, "transition"),
        {
            "transition-transition_purpose": "About your repair.",
            "transition-transition_duration_minutes": "3",
            "transition-transition_cost": "Free.",
        },
    )
    assert response["Location"] == designer(draft, "part-transition")
    draft.refresh_from_db()
    assert draft.transition_purpose == "About your repair."
    assert draft.transition_duration_minutes == 3
    assert draft.greeting_salutation == PARTS["greeting_salutation"]


def test_a_bad_part_keeps_the_input_and_says_why(client, admin, draft):
    response = login(client, admin).post(
        url("version_parts", draft.pk, "transition"),
        {
            "transition-transition_purpose": "Changed",
            "transition-transition_duration_minutes": "0",
        },
    )
    assert response.status_code == 200
    form = response.context["parts"][1]["form"]
    assert "at least 1 minute" in form.errors["transition_duration_minutes"][0]
    assert 'value="Changed"' in response.content.decode() or "Changed</textarea>" in (
        response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.transition_purpose == PARTS["transition_purpose"]


def test_unknown_part_is_404(client, admin, draft):
    assert login(client, admin).post(url("version_parts", draft.pk, "body")).status_code == 404


def test_settings_rename_and_declare_placeholders(client, admin, draft):
    response = login(client, admin).post(
        url("version_parts", draft.pk, "settings"),
        {
            "settings-name": "Renamed",
            "settings-mode": "voice",
            "settings-kind": "survey",
            "settings-extra_placeholders": "plan",
        },
    )
    assert response["Location"] == designer(draft, "part-settings")
    draft.refresh_from_db()
    assert draft.questionnaire.name == "Renamed"
    assert draft.mode == "voice"
    assert draft.extra_placeholders == ["plan"]


# --- questions ---------------------------------------------------------------------------


def test_add_a_question_then_land_on_it(client, admin, draft):
    response = login(client, admin).post(
        url("question_add", draft.pk),
        {"add-type": "scale", "add-code": "", "add-text": "Agree?", "add-preset": "agreement4"},
    )
    question = Question.objects.get(version=draft, position=4)
    assert response["Location"] == question_page(question)
    assert question.code == "Q4"
    assert list(question.choices.values_list("label", flat=True)) == [
        "Fully agree",
        "Partly agree",
        "Neutral",
        "Fully disagree",
    ]


def test_a_duplicate_code_is_refused_on_the_form(client, admin, draft):
    response = login(client, admin).post(
        url("question_add", draft.pk), {"add-type": "text", "add-code": "Q2", "add-text": "x"}
    )
    assert response.status_code == 200
    assert "already has the code Q2" in response.context["add_form"].errors["code"][0]
    assert Question.objects.filter(version=draft).count() == 3


def test_edit_a_question(client, admin, draft):
    question = q(draft, "Q3")
    response = login(client, admin).post(
        url("question_edit", question.pk),
        {
            "q-code": "AGE",
            "q-type": "number",
            "q-text": "How old are you?",
            "q-instruction": "Whole years.",
            "q-required": "on",
            "q-allow_refused": "on",
            "q-min_value": "18",
            "q-max_value": "99",
        },
    )
    assert response["Location"] == question_page(question, "question")
    question.refresh_from_db()
    assert (question.code, question.type, question.instruction) == ("AGE", "number", "Whole years.")
    assert question.required and question.allow_refused and not question.allow_dont_know
    assert (question.min_value, question.max_value) == (18, 99)


def test_edit_a_question_with_bad_bounds(client, admin, draft):
    question = q(draft, "Q3")
    response = login(client, admin).post(
        url("question_edit", question.pk),
        {"q-code": "Q3", "q-type": "number", "q-text": "n", "q-min_value": "9", "q-max_value": "1"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["max_value"]
    question.refresh_from_db()
    assert question.type == QuestionType.TEXT


def test_move_a_question_keeps_the_place(client, admin, draft):
    second = q(draft, "Q2")
    response = login(client, admin).post(url("question_move", second.pk), {"direction": "up"})
    assert response["Location"] == designer(draft, f"q-{second.pk}")
    codes = list(Question.objects.filter(version=draft).values_list("code", flat=True))
    assert codes == ["Q2", "Q1", "Q3"]


def test_a_question_dropped_on_another_takes_its_place(client, admin, draft):
    third = q(draft, "Q3")
    response = login(client, admin).post(url("question_move", third.pk), {"position": "1"})
    assert response["Location"] == designer(draft, f"q-{third.pk}")
    codes = list(Question.objects.filter(version=draft).values_list("code", flat=True))
    assert codes == ["Q3", "Q1", "Q2"]
    # The rule Q1 had on to Q3 now points back: the checker says so (skip rules jump forward).
    page = client.get(designer(draft)).content.decode()
    assert 'draggable="true"' in page and url("question_move", third.pk) in page


@pytest.mark.parametrize(
    "data", [{}, {"direction": "up", "position": "2"}, {"position": "0"}, {"position": "x"}]
)
def test_a_move_needs_one_direction_or_position(client, admin, draft, data):
    second = q(draft, "Q2")
    response = login(client, admin).post(url("question_move", second.pk), data, follow=True)
    assert q(draft, "Q2").position == 2
    assert "alert-danger" in response.content.decode() or response.context["messages"]


def test_move_needs_a_direction(client, admin, draft):
    second = q(draft, "Q2")
    response = login(client, admin).post(url("question_move", second.pk), {"direction": "left"})
    assert response.status_code == 302
    assert q(draft, "Q2").position == 2


def test_duplicate_a_question(client, admin, draft):
    first = q(draft, "Q1")
    response = login(client, admin).post(url("question_duplicate", first.pk))
    copy = Question.objects.get(version=draft, position=2)
    assert response["Location"] == designer(draft, f"q-{copy.pk}")
    assert copy.code == "Q4" and copy.text == first.text
    assert copy.choices.count() == 2
    assert copy.rules.get().target == q(draft, "Q3")


def test_delete_a_question_removes_the_rules_pointing_to_it(client, admin, draft):
    third = q(draft, "Q3")
    response = login(client, admin).post(url("question_delete", third.pk), follow=True)
    assert response.redirect_chain[0][0] == designer(draft, f"q-{q(draft, 'Q2').pk}")
    assert not Question.objects.filter(pk=third.pk).exists()
    assert not Rule.objects.filter(question__version=draft).exists()
    assert any("1 skip rule" in m for m in messages_of(response))


# --- choices -----------------------------------------------------------------------------


def test_choices_add_edit_move_delete(client, admin, draft):
    login(client, admin)
    question = services.question_add(version=draft, type=QuestionType.MULTIPLE, text="Which?")
    response = client.post(
        url("choice_add", question.pk),
        {"choice-add-label": "Mobile internet", "choice-add-keypad": "1"},
    )
    assert response["Location"] == question_page(question, "choices")
    client.post(
        url("choice_add", question.pk),
        {"choice-add-label": "None", "choice-add-code": "9", "choice-add-exclusive": "on"},
    )
    first, none = question.choices.order_by("position")
    assert (first.code, first.keypad, none.code, none.exclusive) == (1, "1", 9, True)

    prefix = f"choice-{first.pk}"
    response = client.post(
        url("choice_edit", first.pk),
        {f"{prefix}-code": "1", f"{prefix}-label": "Other", f"{prefix}-specify": "on"},
    )
    assert response["Location"] == question_page(question, f"c-{first.pk}")
    first.refresh_from_db()
    assert (first.label, first.specify, first.keypad) == ("Other", True, "")

    response = client.post(url("choice_move", none.pk), {"direction": "up"})
    assert response["Location"] == question_page(question, f"c-{none.pk}")
    assert list(question.choices.order_by("position").values_list("code", flat=True)) == [9, 1]

    response = client.post(url("choice_delete", none.pk))
    assert response["Location"] == question_page(question, "choices")
    assert list(question.choices.values_list("code", flat=True)) == [1]


def test_a_single_choice_post_with_errors_says_them(client, admin, draft):
    # The page edits all choices together; a post to one choice's own address, still
    # served, comes back to the choices with its errors said.
    first = q(draft, "Q1")
    yes = first.choices.get(code=1)
    prefix = f"choice-{yes.pk}"
    response = login(client, admin).post(
        url("choice_edit", yes.pk), {f"{prefix}-code": "2", f"{prefix}-label": "Yes"}, follow=True
    )
    assert response.redirect_chain[0][0] == question_page(first, f"c-{yes.pk}")
    assert any("already has a choice with code 2" in m for m in messages_of(response))
    response = client.post(url("choice_add", first.pk), {"choice-add-label": "  "}, follow=True)
    assert "Label: Give the choice a label." in messages_of(response)
    assert first.choices.count() == 2


def test_deleting_a_choice_a_rule_tests_warns(client, admin, draft):
    no = q(draft, "Q1").choices.get(code=2)
    response = login(client, admin).post(url("choice_delete", no.pk), follow=True)
    assert response.redirect_chain[0][0] == question_page(q(draft, "Q1"), "rules")
    assert any("1 skip rule tested this choice" in m for m in messages_of(response))


def test_apply_a_preset_scale(client, admin, draft):
    second = q(draft, "Q2")
    response = login(client, admin).post(
        url("question_preset", second.pk), {"preset": "agreement4"}
    )
    assert response["Location"] == question_page(second, "choices")
    assert second.choices.count() == 4


# --- skip rules --------------------------------------------------------------------------


def test_add_a_rule(client, admin, draft):
    second = q(draft, "Q2")
    poor = second.choices.get(code=5)
    response = login(client, admin).post(
        url("rule_add", second.pk),
        {
            "rule-add-condition": "choice",
            "rule-add-choices": [poor.pk],
            "rule-add-action": "screen_out",
        },
    )
    rule = second.rules.get()
    assert response["Location"] == question_page(second, f"r-{rule.pk}")
    assert (rule.condition, rule.action, rule.target) == ("choice", "screen_out", None)
    assert list(rule.choices.all()) == [poor]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"condition": "choice", "action": "closing"}, "choices", "Pick one choice"),
        ({"condition": "any", "action": "goto"}, "target", "Pick the question to go to"),
        ({"condition": "range", "action": "closing"}, "condition", "not one of the available"),
    ],
)
def test_bad_rules_are_explained(client, admin, draft, data, field, message):
    second = q(draft, "Q2")
    response = login(client, admin).post(
        url("rule_add", second.pk), {f"rule-add-{k}": v for k, v in data.items()}
    )
    assert response.status_code == 200
    assert response.context["focus"] == "rule-add"
    assert message in " ".join(response.context["rule_add_form"].errors[field])
    assert not second.rules.exists()


def test_a_rule_cannot_jump_back(client, admin, draft):
    second = q(draft, "Q2")
    first = q(draft, "Q1")
    response = login(client, admin).post(
        url("rule_add", second.pk),
        {"rule-add-condition": "any", "rule-add-action": "goto", "rule-add-target": first.pk},
    )
    assert response.status_code == 200
    assert response.context["rule_add_form"].errors["target"]
    assert not second.rules.exists()


def test_edit_move_and_delete_rules(client, admin, draft):
    first = q(draft, "Q1")
    rule = first.rules.get()
    services.rule_add(question=first, condition=Condition.ANY, action=Action.CLOSING)
    prefix = f"rule-{rule.pk}"
    response = login(client, admin).post(
        url("rule_edit", rule.pk),
        {
            f"{prefix}-condition": "any_of",
            f"{prefix}-choices": [c.pk for c in first.choices.all()],
            f"{prefix}-action": "goto",
            f"{prefix}-target": q(draft, "Q2").pk,
        },
    )
    assert response["Location"] == question_page(first, f"r-{rule.pk}")
    rule.refresh_from_db()
    assert (rule.condition, rule.target.code, rule.choices.count()) == ("any_of", "Q2", 2)

    response = client.post(url("rule_move", rule.pk), {"direction": "down"})
    assert response["Location"] == question_page(first, f"r-{rule.pk}")
    assert list(first.rules.order_by("position").values_list("condition", flat=True)) == [
        "any",
        "any_of",
    ]
    response = client.post(url("rule_delete", rule.pk))
    assert response["Location"] == question_page(first, "rules")
    assert list(first.rules.values_list("condition", flat=True)) == ["any"]


# --- checking and publishing -------------------------------------------------------------


def test_a_rule_follows_its_target_and_the_checker_blocks_publishing(client, admin, draft):
    third = q(draft, "Q3")
    login(client, admin)
    client.post(url("question_move", third.pk), {"direction": "up"})
    client.post(url("question_move", third.pk), {"direction": "up"})
    rule = q(draft, "Q1").rules.get()
    assert rule.target == third  # the rule still points at Q3, now in front of Q1

    response = client.post(url("version_publish", draft.pk), follow=True)
    assert response.redirect_chain[0][0] == url("version_check", draft.pk)
    assert any("Not published" in m for m in messages_of(response))
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    groups = response.context["groups"]
    group = next(g for g in groups if any(f.code == "rule_target_backward" for f in g.findings))
    assert group.url == question_page(q(draft, "Q1"))
    html = response.content.decode()
    assert "jumps back to Q3" in html and "How to fix:" in html

    designer_html = client.get(designer(draft)).content.decode()
    assert "jumps back" in designer_html


def test_the_check_page_groups_findings_by_part(client, admin):
    version = services.questionnaire_create(name="Empty", language=Language.EN, created_by=admin)
    response = login(client, admin).get(url("version_check", version.pk))
    titles = [g.title for g in response.context["groups"]]
    assert titles == ["1. Greeting", "2. Transition", "3. Body", "4. Closing"]
    assert response.context["error_count"] > 0
    assert "Fix the errors above to publish." in response.content.decode()
    assert response.context["groups"][0].url == designer(version, "part-greeting")


def test_publish_then_the_version_is_read_only(client, admin, draft):
    login(client, admin)
    response = client.post(url("version_publish", draft.pk))
    assert response["Location"] == designer(draft)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED and draft.published_by == admin

    response = client.post(
        url("question_add", draft.pk), {"add-type": "text", "add-text": "Late?"}, follow=True
    )
    assert response.redirect_chain[0][0] == designer(draft)
    assert any("published and can no longer be changed" in m for m in messages_of(response))
    first = q(draft, "Q1")
    for target, data in [
        (url("version_parts", draft.pk, "greeting"), {"greeting-greeting_salutation": "Hi"}),
        (url("question_edit", first.pk), {"q-code": "Q1", "q-type": "text", "q-text": "x"}),
        (url("choice_add", first.pk), {"choice-add-label": "Maybe"}),
        (url("rule_add", first.pk), {"rule-add-condition": "any", "rule-add-action": "closing"}),
    ]:
        response = client.post(target, data)
        assert response.status_code == 302, target
    draft.refresh_from_db()
    assert draft.greeting_salutation == PARTS["greeting_salutation"]
    assert first.choices.count() == 2 and first.rules.count() == 1
    response = client.post(url("question_delete", first.pk), follow=True)
    assert any("published" in m for m in messages_of(response))
    assert Question.objects.filter(version=draft).count() == 3


def test_edit_a_published_questionnaire_starts_a_new_draft(client, admin, published):
    login(client, admin)
    response = client.post(url("questionnaire_new_draft", published.questionnaire.pk))
    new = published.questionnaire.versions.get(number=2)
    assert response["Location"] == designer(new)
    assert new.status == VersionStatus.DRAFT
    assert list(new.questions.values_list("code", flat=True)) == ["Q1", "Q2", "Q3"]

    response = client.post(url("questionnaire_new_draft", published.questionnaire.pk), follow=True)
    assert response.redirect_chain[0][0] == designer(new)
    assert published.questionnaire.versions.count() == 2
    assert client.get(url("questionnaire_detail", published.questionnaire.pk))["Location"] == (
        designer(new)
    )


def test_discard_a_draft(client, admin, published):
    login(client, admin)
    new = services.version_new_draft(questionnaire=published.questionnaire, created_by=admin)
    response = client.post(url("version_discard", new.pk))
    assert response["Location"] == url("questionnaire_detail", published.questionnaire.pk)
    assert not QuestionnaireVersion.objects.filter(pk=new.pk).exists()
    response = client.post(url("version_discard", published.pk), follow=True)
    assert QuestionnaireVersion.objects.filter(pk=published.pk).exists()


def test_the_only_version_is_not_discarded(client, admin, draft):
    response = login(client, admin).post(url("version_discard", draft.pk), follow=True)
    assert any("only version" in m for m in messages_of(response))
    assert QuestionnaireVersion.objects.filter(pk=draft.pk).exists()


def test_copy_a_questionnaire(client, requester, published):
    response = login(client, requester).post(url("version_copy", published.pk))
    copy = Questionnaire.objects.exclude(pk=published.questionnaire.pk).get()
    version = copy.versions.get()
    assert response["Location"] == designer(version)
    assert copy.created_by == requester
    assert version.status == VersionStatus.DRAFT
    assert version.questions.count() == 3
    assert login(client, requester).get(designer(version)).context["editable"]


# --- the preview -------------------------------------------------------------------------


STATE_RE = re.compile(r'name="state" value="([^"]+)"')


class Preview:
    def __init__(self, client, version):
        self.client = client
        self.url = url("version_preview", version.pk)
        self.response = client.get(self.url)
        self.state = STATE_RE.search(self.response.content.decode()).group(1)

    def post(self, action, **data):
        data = {"action": action, "state": self.state, **data}
        self.response = self.client.post(self.url, data)
        assert self.response.status_code == 200
        self.state = STATE_RE.search(self.response.content.decode()).group(1)
        return self.response

    def answer(self, code, **data):
        return self.post("answer", question=code, **data)

    @property
    def stage(self):
        return self.response.context["stage"]

    @property
    def current(self):
        current = self.response.context["current"]
        return current.spec.code if current else None

    @property
    def asked(self):
        return [item["question"].spec.code for item in self.response.context["asked"]]


@pytest.mark.parametrize(
    ("language", "salutation", "shown", "never"),
    [
        ("en", "Good morning, Ms {customer_name}.", "Good morning, Ms Wang.", "Ms Ms"),
        ("en", "Good morning, {customer_name}.", "Good morning, Ms Wang.", "Ms Ms"),
        ("zh-hans", "{customer_name}女士，您好！", "王女士，您好！", "女士女士"),
        ("zh-hans", "{customer_name}，您好！", "王女士，您好！", "女士女士"),
    ],
)
def test_the_previews_sample_name_never_doubles_the_scripts_honorific(
    client, admin, language, salutation, shown, never
):
    version = build(admin)
    services.version_update_parts(version=version, **{**PARTS, "greeting_salutation": salutation})
    client.cookies["django_language"] = language
    html = login(client, admin).get(url("version_preview", version.pk)).content.decode()
    assert shown in html and never not in html


def test_preview_walks_the_parts_and_the_no_branch(client, agent, published):
    preview = Preview(login(client, agent), published)
    html = preview.response.content.decode()
    assert preview.stage == "opening"
    assert "Good morning, Ms Wang." in html
    assert "agent 1001" in html
    preview.post("start")
    assert preview.current == "Q1"
    assert "from GoTone?" in preview.response.content.decode()
    preview.answer("Q1", choices="2")
    assert (preview.current, preview.asked) == ("Q3", ["Q1"])
    preview.answer("Q3", text="Faster repairs")
    assert preview.stage == "closing"
    assert preview.asked == ["Q1", "Q3"]
    assert "Thank you for your time." in preview.response.content.decode()


def test_preview_yes_branch_back_and_restart(client, admin, published):
    preview = Preview(login(client, admin), published)
    preview.post("start")
    preview.answer("Q1", choices="1")
    assert preview.current == "Q2"
    response = preview.answer("Q2")
    assert preview.current == "Q2"
    assert "Q2 is required" in response.content.decode()
    preview.answer("Q2", choices="3")
    assert preview.current == "Q3"
    assert preview.asked == ["Q1", "Q2"]

    preview.post("back")
    assert preview.current == "Q2"
    assert preview.response.context["form"].initial["choices"] == "3"
    preview.post("back")
    assert preview.current == "Q1"
    preview.answer("Q1", choices="2")
    assert preview.asked == ["Q1"] and preview.current == "Q3"
    preview.post("back")
    preview.post("back")
    assert preview.stage == "opening"
    preview.post("start")
    preview.answer("Q1", choices="1")
    preview.post("restart")
    assert preview.stage == "opening" and preview.asked == []


def test_preview_screen_out_and_a_tampered_state(client, admin, draft):
    first = q(draft, "Q1")
    services.rule_add(
        question=first,
        condition=Condition.CHOICE,
        choices=[first.choices.get(code=1)],
        action=Action.SCREEN_OUT,
        position=1,
    )
    preview = Preview(login(client, admin), draft)
    preview.post("start")
    preview.answer("Q1", choices="1")
    assert preview.stage == "screen_out"
    preview.state = preview.state[:-3] + "xyz"
    preview.post("back")
    assert preview.stage == "opening"


# --- Excel -------------------------------------------------------------------------------


def test_export_and_import_a_new_questionnaire(client, admin, published):
    login(client, admin)
    response = client.get(url("version_export", published.pk))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    content = response.content
    assert content[:2] == b"PK"
    upload = SimpleUploadedFile("survey.xlsx", content)
    response = client.post(url("questionnaire_import"), {"file": upload})
    imported = QuestionnaireVersion.objects.exclude(questionnaire=published.questionnaire).get()
    assert response["Location"] == designer(imported)
    assert list(imported.questions.values_list("code", flat=True)) == ["Q1", "Q2", "Q3"]
    assert imported.questions.get(code="Q1").rules.get().target.code == "Q3"


def test_import_as_the_next_draft(client, admin, published):
    login(client, admin)
    content = client.get(url("version_export", published.pk)).content
    response = client.post(
        url("questionnaire_import_version", published.questionnaire.pk),
        {"file": SimpleUploadedFile("survey.xlsx", content)},
    )
    new = published.questionnaire.versions.get(number=2)
    assert response["Location"] == designer(new)
    assert new.status == VersionStatus.DRAFT


def test_a_bad_import_lists_every_bad_row_and_imports_nothing(client, admin, published):
    login(client, admin)
    content = client.get(url("version_export", published.pk)).content
    workbook = load_workbook(BytesIO(content))
    questions = workbook.worksheets[1]
    questions.cell(row=2, column=2, value="bogus")
    questions.cell(row=3, column=2, value="worse")
    buffer = BytesIO()
    workbook.save(buffer)
    response = client.post(
        url("questionnaire_import"), {"file": SimpleUploadedFile("bad.xlsx", buffer.getvalue())}
    )
    assert response.status_code == 200
    problems = response.context["problems"]
    assert {(p.sheet, p.row) for p in problems} >= {(questions.title, 2), (questions.title, 3)}
    html = response.content.decode()
    assert "Nothing was imported" in html and "bogus" in html
    assert Questionnaire.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"hello", "Only .xlsx workbooks"),
        ("fake.xlsx", b"not a zip", "could not be read"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused(client, admin, name, content, message):
    response = login(client, admin).post(
        url("questionnaire_import"), {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in str(response.context["form"].errors)
    assert not Questionnaire.objects.exists()
