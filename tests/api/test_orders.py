"""Work orders filed through the API travel the approval chain like any other."""

import datetime

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest
from outbound.models import WorkOrder
from outbound.services import order_decide
from tests.api.conftest import Caller, make_integration

pytestmark = pytest.mark.django_db


def order_payload(**overrides) -> dict:
    today = timezone.localdate()
    data = {
        "title": "Repair callbacks, week 12",
        "kind": "service_callback",
        "background": "Repairs reported done by the repair system.",
        "purpose": "Check the repair and the engineer's attitude.",
        "target_description": "Customers whose repair was done yesterday.",
        "expected_contacts": 300,
        "desired_start": str(today + datetime.timedelta(days=2)),
        "desired_end": str(today + datetime.timedelta(days=9)),
    }
    data.update(overrides)
    return data


def test_an_order_is_filed_as_a_draft_for_the_named_requester(caller, org):
    response = caller.post("/api/v1/orders", order_payload())
    assert response.status_code == 201, response.content
    body = response.json()
    order = WorkOrder.objects.get(pk=body["id"])
    assert order.requester == org.requester and order.department == org.marketing
    assert body["status"] == ApprovalRequest.Status.DRAFT and body["history"] == []


def test_submitting_starts_the_chain_and_the_history_shows_decisions(caller, org):
    order_id = caller.post("/api/v1/orders", order_payload()).json()["id"]
    submitted = caller.post(f"/api/v1/orders/{order_id}/submit")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == ApprovalRequest.Status.IN_PROGRESS
    order = WorkOrder.objects.get(pk=order_id)
    order_decide(order=order, user=org.leader, action="return", comment="Say which repairs.")
    read = caller.get(f"/api/v1/orders/{order_id}").json()
    assert read["status"] == ApprovalRequest.Status.RETURNED
    assert [(h["action"], h["actor"], h["comment"]) for h in read["history"]][-1] == (
        "return",
        "leader",
        "Say which repairs.",
    )


def test_filing_with_submit_true_submits_at_once(caller):
    body = caller.post("/api/v1/orders", order_payload(submit=True)).json()
    assert body["status"] == ApprovalRequest.Status.IN_PROGRESS
    assert body["current_step"]


def test_the_services_rules_apply(caller):
    response = caller.post(
        "/api/v1/orders",
        order_payload(desired_end=str(timezone.localdate() - datetime.timedelta(days=30))),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not WorkOrder.objects.exists()


def test_orders_of_other_departments_are_not_found(caller, other_campaign):
    response = caller.get(f"/api/v1/orders/{other_campaign.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_integration_without_a_requester_cannot_file(client, org):
    _integration, token = make_integration(org, name="norequester", requester=None)
    response = Caller(client, token).post("/api/v1/orders", order_payload())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_requester"


def test_a_requester_outside_the_departments_cannot_file(client, org):
    _integration, token = make_integration(org, name="elsewhere", requester=org.other_requester)
    response = Caller(client, token).post("/api/v1/orders", order_payload())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "department_outside_reach"
