"""A work order pins one published questionnaire version; approvers read it."""

import pytest
from django.urls import reverse

from outbound.models import WorkOrder
from outbound.services import order_decide, order_submit
from surveys import services as surveys
from tests.factories import Org, make_order
from tests.outbound.test_orders import form_data
from tests.surveys.factories import english_parts, english_questionnaire

pytestmark = pytest.mark.django_db


def voice_questionnaire():
    """Two keypad questions: a yes/no and a five-point scale."""
    version = surveys.questionnaire_create(name="Keypad survey", language="en", mode="voice")
    surveys.version_update_parts(version=version, **english_parts())
    for question in (
        surveys.question_add(version=version, type="yes_no", text="Did the engineer come?"),
        surveys.question_add(version=version, type="scale", text="How satisfied are you?"),
    ):
        for digit, choice in enumerate(question.choices.order_by("position"), start=1):
            surveys.choice_update(choice=choice, keypad=str(digit))
    surveys.version_publish(version=version)
    return version


@pytest.fixture
def org():
    return Org()


def test_requester_picks_a_published_questionnaire(client, org):
    version = org.questionnaire
    client.force_login(org.requester)
    response = client.post(reverse("outbound:order_create"), form_data(questionnaire=version.pk))
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.questionnaire == version
    page = client.get(order.get_absolute_url()).content.decode()
    assert reverse("surveys:version_preview", args=[version.pk]) in page


def test_a_draft_questionnaire_cannot_be_picked(client, org):
    draft = english_questionnaire(name="Still a draft", publish=False)
    client.force_login(org.requester)
    response = client.post(reverse("outbound:order_create"), form_data(questionnaire=draft.pk))
    assert response.status_code == 200
    assert "questionnaire" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_a_voice_order_needs_a_voice_questionnaire(client, org):
    client.force_login(org.requester)
    response = client.post(
        reverse("outbound:order_create"),
        form_data(mode="voice", questionnaire=org.questionnaire.pk),
    )
    assert response.status_code == 200
    assert "written for call agents" in " ".join(response.context["form"].errors["questionnaire"])
    voice = voice_questionnaire()
    response = client.post(
        reverse("outbound:order_create"), form_data(mode="voice", questionnaire=voice.pk)
    )
    assert response.status_code == 302
    assert WorkOrder.objects.get().questionnaire == voice


def test_the_assignment_step_sets_the_questionnaire_when_none_was_chosen(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    for position in (1, 2, 3):
        order_decide(order=order, user=org.step_actor(position), action="approve")
    client.force_login(org.outbound_admin)
    assignment = org.assignment()
    data = {
        "action": "approve",
        "team": [a.pk for a in assignment["team"]],
        "planned_start": assignment["planned_start"].isoformat(),
        "planned_end": assignment["planned_end"].isoformat(),
        "daily_volume": 50,
    }
    response = client.post(reverse("outbound:order_decide", args=[order.pk]), data)
    assert response.status_code == 400
    assert "questionnaire" in response.context["assignment_form"].errors
    data["questionnaire"] = org.questionnaire.pk
    response = client.post(reverse("outbound:order_decide", args=[order.pk]), data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.questionnaire == org.questionnaire
    assert order.approval.current_step.position == 5


def test_approvers_read_the_questionnaire_but_cannot_change_it(client, org):
    version = org.questionnaire
    order = make_order(org.requester, questionnaire=version)
    order_submit(order=order, user=org.requester)
    client.force_login(org.leader)
    assert client.get(reverse("surveys:version_detail", args=[version.pk])).status_code == 200
    assert client.get(reverse("surveys:version_preview", args=[version.pk])).status_code == 200
    question = version.questions.first()
    response = client.post(reverse("surveys:question_delete", args=[question.pk]))
    assert response.status_code in (403, 404)
    assert version.questions.filter(pk=question.pk).exists()


def test_a_pinned_version_cannot_be_deleted_and_editing_makes_a_new_draft(org):
    version = org.questionnaire
    make_order(org.requester, questionnaire=version)
    draft = surveys.version_new_draft(
        questionnaire=version.questionnaire, created_by=org.outbound_admin
    )
    assert draft.pk != version.pk and draft.number == version.number + 1
    assert WorkOrder.objects.get().questionnaire_id == version.pk


def test_questionnaire_list_shows_the_orders_using_each_version(client, org):
    version = org.questionnaire
    order = make_order(org.requester, questionnaire=version, title="Hotline callback")
    order_submit(order=order, user=org.requester)
    other = make_order(org.other_requester, questionnaire=version, title="Network's own")
    order_submit(order=other, user=org.other_requester)
    client.force_login(org.outbound_admin)
    page = client.get(reverse("surveys:questionnaire_list")).content.decode()
    assert "Hotline callback" in page and order.get_absolute_url() in page
    assert "Network&#x27;s own" in page
    # A requester sees only the orders they may open.
    client.force_login(org.requester)
    page = client.get(reverse("surveys:questionnaire_list")).content.decode()
    assert "Hotline callback" in page and "Network" not in page
