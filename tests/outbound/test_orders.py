"""Work orders through the browser's requests: forms, scoping, the permission matrix and
the query counts of the list pages."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest
from outbound.models import WorkOrder
from outbound.services import order_decide, order_submit
from tests.factories import Org, make_order, order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return Org()


def form_data(**overrides) -> dict:
    data = order_data(**overrides)
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in data.items()
    }


def test_requester_creates_a_draft_and_submits_it(client, org):
    client.force_login(org.requester)
    response = client.post(reverse("outbound:order_create"), form_data())
    order = WorkOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert order.requester == org.requester and order.department == org.marketing
    assert order.approval.status == ApprovalRequest.Status.DRAFT
    response = client.post(reverse("outbound:order_submit", args=[order.pk]))
    assert response.status_code == 302
    assert order.approval.status == ApprovalRequest.Status.IN_PROGRESS


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required"),
        ({"expected_contacts": 0}, "expected_contacts", "greater than or equal to 1"),
        # Dates are given as days from today, read when the test runs (not when it is
        # collected), so the test holds whatever the clock says.
        ({"desired_start": -1}, "desired_start", "cannot be in the past"),
        ({"desired_end": 0}, "desired_end", "before the start date"),
        ({"calling_hours_end": datetime.time(8, 0)}, "calling_hours_end", "must end after"),
        ({"kind": "lottery"}, "kind", "Select a valid choice"),
    ],
)
def test_bad_order_input_is_refused_with_a_clear_error(client, org, overrides, field, message):
    today = timezone.localdate()
    overrides = {
        name: today + datetime.timedelta(days=value) if name.startswith("desired_") else value
        for name, value in overrides.items()
    }
    client.force_login(org.requester)
    response = client.post(reverse("outbound:order_create"), form_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not WorkOrder.objects.exists()


def test_edit_only_while_draft_or_returned(client, org):
    order = make_order(org.requester)
    client.force_login(org.requester)
    url = reverse("outbound:order_edit", args=[order.pk])
    response = client.post(url, form_data(title="Renamed"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.title == "Renamed" and order.approval.title == "Renamed"
    order_submit(order=order, user=org.requester)
    response = client.post(url, form_data(title="Again"))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.title == "Renamed"


def test_decide_through_the_view_requires_a_comment_to_return(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    client.force_login(org.leader)
    url = reverse("outbound:order_decide", args=[order.pk])
    response = client.post(url, {"action": "return", "comment": ""})
    assert response.status_code == 400
    assert "comment is required" in response.content.decode()
    assert order.approval.status == ApprovalRequest.Status.IN_PROGRESS
    response = client.post(url, {"action": "return", "comment": "Which customers?"})
    assert response.status_code == 302
    assert order.approval.status == ApprovalRequest.Status.RETURNED


def test_assignment_form_errors_are_shown(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    for position in (1, 2, 3):
        order_decide(order=order, user=org.step_actor(position), action="approve")
    client.force_login(org.outbound_admin)
    url = reverse("outbound:order_decide", args=[order.pk])
    response = client.post(url, {"action": "approve", "daily_volume": "0"})
    assert response.status_code == 400
    errors = response.context["assignment_form"].errors
    assert set(errors) >= {"team", "planned_start", "daily_volume"}
    assert order.approval.current_step.position == 4


def test_get_is_refused_on_every_change(client, org):
    order = make_order(org.requester)
    client.force_login(org.requester)
    for name in ("order_submit", "order_decide"):
        assert client.get(reverse(f"outbound:{name}", args=[order.pk])).status_code == 405


def test_anonymous_users_are_sent_to_login(client, org):
    order = make_order(org.requester)
    for url in (
        reverse("outbound:order_list"),
        order.get_absolute_url(),
        reverse("approvals:inbox"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


# The permission matrix: every role against every page and action, on an order of the
# marketing department waiting at step 1 (for its department leader) and on a second order
# that was returned to its requester. 404: the user may not know the order exists;
# 403: they may see it but not do this; 302: done, and redirected.
ROLES = [
    "req",
    "leader",
    "otherleader",
    "otherreq",
    "oadmin",
    "csleader",
    "centreleader",
    "agent",
    "analyst",
    "nobody",
]
MATRIX = {
    #                view  create edit  decide submit
    "req": (200, 200, 200, 403, 302),
    "leader": (200, 403, 403, 302, 403),
    "otherleader": (404, 403, 404, 404, 404),
    "otherreq": (404, 200, 404, 404, 404),
    "oadmin": (200, 403, 403, 403, 403),
    "csleader": (200, 403, 403, 403, 403),
    "centreleader": (200, 403, 403, 403, 403),
    "agent": (404, 403, 404, 404, 404),
    "analyst": (404, 403, 404, 404, 404),
    "nobody": (404, 403, 404, 404, 404),
}


@pytest.mark.parametrize("username", ROLES)
def test_permission_matrix(client, org, username):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    returned = make_order(org.requester, title="Returned order")
    order_submit(order=returned, user=org.requester)
    order_decide(order=returned, user=org.leader, action="return", comment="More detail.")
    user = {u.username: u for u in org.__dict__.values() if hasattr(u, "username")}[username]
    client.force_login(user)
    view, create, edit, decide, submit = MATRIX[username]

    assert client.get(order.get_absolute_url()).status_code == view
    assert client.get(reverse("outbound:order_create")).status_code == create
    assert client.get(reverse("outbound:order_edit", args=[returned.pk])).status_code == edit
    response = client.post(reverse("outbound:order_decide", args=[order.pk]), {"action": "approve"})
    assert response.status_code == decide
    response = client.post(reverse("outbound:order_submit", args=[returned.pk]))
    assert response.status_code == submit
    # Only the allowed users changed anything.
    assert order.approval.current_step.position == (2 if decide == 302 else 1)
    assert returned.approval.status == ("in_progress" if submit == 302 else "returned")
    assert client.get(reverse("approvals:inbox")).status_code == 200


def test_other_departments_never_see_an_order_in_their_lists(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    client.force_login(org.other_leader)
    assert order.title not in client.get(reverse("outbound:order_list")).content.decode()
    client.force_login(org.leader)
    assert order.title in client.get(reverse("outbound:order_list")).content.decode()


def test_drafts_are_private_to_their_requester(client, org):
    draft = make_order(org.requester, title="Private draft")
    for user in (org.leader, org.outbound_admin, org.cs_leader):
        client.force_login(user)
        assert client.get(draft.get_absolute_url()).status_code == 404
        assert "Private draft" not in client.get(reverse("outbound:order_list")).content.decode()


def test_analyst_sees_approved_orders_only(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    client.force_login(org.analyst)
    assert client.get(order.get_absolute_url()).status_code == 404
    ApprovalRequest.objects.filter(pk=order.approval.pk).update(
        status="approved", current_step=None
    )
    assert client.get(order.get_absolute_url()).status_code == 200


def _orders(org, count: int) -> None:
    for i in range(count):
        order = make_order(org.requester, title=f"Order {i}")
        order_submit(order=order, user=org.requester)


def test_overdue_is_marked_in_the_inbox(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    ApprovalRequest.objects.update(step_due_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(org.leader)
    assert "Overdue" in client.get(reverse("approvals:inbox")).content.decode()
    assert "Overdue" in client.get(order.get_absolute_url()).content.decode()


def test_language_follows_the_browser_and_defaults_to_chinese(org):
    client = Client()
    client.force_login(org.requester)
    chinese = client.get(reverse("outbound:order_list")).content.decode()
    english = client.get(
        reverse("outbound:order_list"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"
    ).content.decode()
    assert "Outbound orders" in english
    assert "Outbound orders" not in chinese and "外呼工单" in chinese


def test_language_switch_sets_the_language(org):
    client = Client()
    client.force_login(org.requester)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/orders/"})
    assert response.status_code == 302
    assert "Outbound orders" in client.get("/orders/").content.decode()


def test_static_bootstrap_is_served_locally(client, org):
    client.force_login(org.requester)
    page = client.get(reverse("outbound:order_list")).content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in page
    assert "cdn" not in page.lower()


def test_a_decision_on_a_step_already_decided_says_so(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    step_one = order.approval.current_step_id
    order_decide(order=order, user=org.leader, action="approve")
    client.force_login(org.leader)
    response = client.post(
        reverse("outbound:order_decide", args=[order.pk]),
        {"action": "approve", "step": step_one},
        follow=True,
    )
    assert "Somebody else has already acted on this step" in response.content.decode()
    assert order.approval.decisions.filter(action="approve").count() == 1
