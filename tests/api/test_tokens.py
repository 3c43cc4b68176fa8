"""Integrations: tokens shown once and kept hashed, rotated and revoked; scopes; every call
recorded; the per-token rate limit."""

import pytest
import time_machine

from accounts.models import AuditAction, AuditEvent
from api.models import Integration
from api.services import integration_issue_token, integration_revoke
from tests.api.conftest import Caller, make_integration

pytestmark = pytest.mark.django_db


def test_the_token_is_kept_only_as_a_hash(org, integration):
    record, token = integration
    record.refresh_from_db()
    assert token.startswith("whk_")
    assert token not in record.token_hash and len(record.token_hash) == 64
    assert not Integration.objects.filter(token_hash__contains=token[10:]).exists()


def test_a_call_without_a_valid_token_is_refused(client, caller, campaign):
    anonymous = client.get(f"/api/v1/orders/{campaign.pk}")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    wrong = Caller(client, caller.token[:-2] + "xx").get(f"/api/v1/orders/{campaign.pk}")
    assert wrong.status_code == 401


def test_rotating_retires_the_old_token_and_revoking_stops_the_new(client, integration, campaign):
    record, old = integration
    new = integration_issue_token(integration=record)
    assert Caller(client, old).get(f"/api/v1/orders/{campaign.pk}").status_code == 401
    assert Caller(client, new).get(f"/api/v1/orders/{campaign.pk}").status_code == 200
    integration_revoke(integration=record)
    assert Caller(client, new).get(f"/api/v1/orders/{campaign.pk}").status_code == 401


def test_a_missing_scope_is_a_403_with_its_code(client, org, campaign):
    _record, token = make_integration(org, scopes=["results"], name="crm")
    response = Caller(client, token).get(f"/api/v1/orders/{campaign.pk}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_missing"


def test_every_call_is_recorded_in_the_audit_trail(caller, integration, campaign):
    caller.get(f"/api/v1/orders/{campaign.pk}")
    caller.get("/api/v1/orders/999999")
    events = AuditEvent.objects.filter(action=AuditAction.API_CALL).order_by("id")
    assert [(e.target_id, e.details["method"], e.details["status"]) for e in events] == [
        (str(integration[0].pk), "GET", 200),
        (str(integration[0].pk), "GET", 404),
    ]
    first = events.first()
    assert first.details["path"] == f"/api/v1/orders/{campaign.pk}"
    assert first.target_type == "api.integration"
    assert first.user is None and first.address == "127.0.0.1"
    assert integration[0].name in first.description


def test_the_rate_limit_answers_429_with_retry_after(client, org, campaign):
    _record, token = make_integration(org, name="fast", rate_limit_per_minute=3)
    caller = Caller(client, token)
    with time_machine.travel("2031-03-03 10:00:10 +00:00", tick=False):
        codes = [caller.get(f"/api/v1/orders/{campaign.pk}").status_code for _ in range(4)]
        refused = caller.get(f"/api/v1/orders/{campaign.pk}")
    assert codes == [200, 200, 200, 429]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "51"
    with time_machine.travel("2031-03-03 10:01:01 +00:00", tick=False):
        assert caller.get(f"/api/v1/orders/{campaign.pk}").status_code == 200


def test_every_error_has_a_code_a_message_and_a_field(client, caller, org, campaign):
    """401, 403, 404, 422 and a service's refusal all answer in the same shape."""
    _record, token = make_integration(org, scopes=["results"], name="crm")
    answers = [
        client.get(f"/api/v1/orders/{campaign.pk}"),
        Caller(client, token).get(f"/api/v1/orders/{campaign.pk}"),
        caller.get("/api/v1/orders/999999"),
        caller.post("/api/v1/orders", {"title": "x"}),
        caller.post(f"/api/v1/orders/{campaign.pk}/submit"),
    ]
    assert [a.status_code for a in answers] == [401, 403, 404, 422, 400]
    for answer in answers:
        error = answer.json()["error"]
        assert set(error) == {"code", "message", "field"}
        assert error["message"]
    assert answers[3].json()["error"]["field"] == "kind"
