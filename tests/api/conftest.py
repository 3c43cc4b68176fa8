import pytest

from api.models import Integration, Scope
from api.services import integration_issue_token
from outbound.models import WorkOrder
from outbound.services import order_submit
from tests.factories import Org, make_order


def ready_order(org, requester=None, **overrides) -> WorkOrder:
    requester = requester or org.requester
    order = make_order(requester, **overrides)
    order_submit(order=order, user=requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    return order


@pytest.fixture
def org():
    return Org()


@pytest.fixture
def campaign(org):
    return ready_order(org)


@pytest.fixture
def other_campaign(org):
    """A campaign of a department the integration may not touch."""
    return ready_order(org, requester=org.other_requester)


class Caller:
    """The test client with an integration's token."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _headers(self, headers):
        return {"authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path, headers=None, **params):
        return self.client.get(path, params, headers=self._headers(headers))

    def post(self, path, data=None, headers=None):
        return self.client.post(
            path, data or {}, content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))


def make_integration(org, scopes=tuple(Scope.values), **fields) -> tuple[Integration, str]:
    integration = Integration.objects.create(
        name=fields.pop("name", "complaints"),
        scopes=list(scopes),
        requester=fields.pop("requester", org.requester),
        **fields,
    )
    integration.departments.set([org.marketing])
    return integration, integration_issue_token(integration=integration)


@pytest.fixture
def integration(org):
    return make_integration(org)


@pytest.fixture
def caller(client, integration):
    return Caller(client, integration[1])
