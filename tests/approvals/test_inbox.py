"""The inbox: what waits for the user and nothing else, the requester's returned orders in
their to-do list and in the navigation's badge, pages of fifty, and a query count that
does not grow with the requests in the database."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.context_processors import navigation
from approvals.models import ApprovalRequest
from approvals.selectors import inbox, inbox_count
from outbound.services import order_decide, order_submit
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db
URL = reverse("approvals:inbox")


@pytest.fixture
def org():
    return Org()


def _submitted(org, title="Broadband satisfaction, Q4", requester=None):
    requester = requester or org.requester
    order = make_order(requester, title=title)
    order_submit(order=order, user=requester)
    return order


def _badge(client) -> str | None:
    page = client.get(reverse("outbound:order_list")).content.decode()
    marker = 'data-testid="inbox-count">'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split("<", 1)[0]


def test_a_returned_order_waits_in_its_requesters_inbox_with_the_badge(client, org):
    order = _submitted(org, "Roaming survey")
    order_decide(order=order, user=org.leader, action="return", comment="Which customers?")
    assert [r.title for r in inbox(user=org.requester)] == ["Roaming survey"]
    assert inbox_count(user=org.requester) == 1
    # It waits for the requester now, not for the leader who returned it.
    assert inbox_count(user=org.leader) == 0

    client.force_login(org.requester)
    assert _badge(client) == "1"
    page = client.get(URL).content.decode()
    assert 'data-testid="inbox-returned"' in page
    assert "Returned to you for changes" in page and "Which customers?" in page
    assert order.get_absolute_url() in page

    order_submit(order=order, user=org.requester)  # resubmitted: back with the leader
    assert _badge(client) is None
    assert "Nothing waits for you." in client.get(URL).content.decode()
    client.force_login(org.leader)
    assert _badge(client) == "1"


def test_the_inbox_shows_what_waits_and_nothing_else(org):
    waiting = _submitted(org, "Waiting for the leader")
    moved_on = _submitted(org, "Moved on")
    order_decide(order=moved_on, user=org.leader, action="approve")
    rejected = _submitted(org, "Rejected")
    order_decide(order=rejected, user=org.leader, action="reject", comment="Not now.")
    make_order(org.requester, title="Draft")
    _submitted(org, "Another department's", requester=org.other_requester)

    assert [r.title for r in inbox(user=org.leader)] == [waiting.title]
    assert [r.title for r in inbox(user=org.outbound_admin)] == [moved_on.title]
    # The requester's own orders in approval, rejected or drafted wait for others, or nobody.
    assert list(inbox(user=org.requester)) == []
    assert inbox_count(user=org.requester) == 0


def test_returned_orders_come_first_then_the_oldest_deadline(org):
    first = _submitted(org, "Due first")
    second = _submitted(org, "Due second")
    ApprovalRequest.objects.filter(pk=second.approval.pk).update(
        step_due_at=first.approval.step_due_at - datetime.timedelta(hours=1)
    )
    # An order the leader filed, returned to them.
    own = make_order(org.leader, title="The leader's own")
    order_submit(order=own, user=org.leader)
    ApprovalRequest.objects.filter(pk=own.approval.pk).update(
        status=ApprovalRequest.Status.RETURNED, step_due_at=None
    )
    assert [r.title for r in inbox(user=org.leader)] == [
        "The leader's own",
        "Due second",
        "Due first",
    ]


def test_the_badge_comes_from_the_approvals_context_processor(rf, org):
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    assert "approvals.context_processors.inbox" in processors
    request = rf.get("/")
    request.user = org.leader
    assert "inbox_count" not in navigation(request)["nav"]


def _waiting_orders(org, count: int) -> None:
    for i in range(count):
        _submitted(org, f"Order {i:03d}")


def test_pages_of_fifty(client, org):
    _waiting_orders(org, 55)
    client.force_login(org.leader)
    first = client.get(URL)
    assert len(first.context["items"]) == 50
    assert first.context["page"].paginator.count == 55
    assert _badge(client) == "55"
    second = client.get(URL, {"page": 2})
    assert [item.title for item, _ in second.context["items"]] == [
        f"Order {i:03d}" for i in range(50, 55)
    ]
    assert 'href="?page=1"' in second.content.decode()


@pytest.mark.parametrize("count", [5, 60])
def test_inbox_query_count_does_not_grow(client, org, count, django_assert_num_queries):
    _waiting_orders(org, count)
    returned = _submitted(org, "Returned to the leader", requester=org.leader)
    ApprovalRequest.objects.filter(pk=returned.approval.pk).update(
        status=ApprovalRequest.Status.RETURNED, step_due_at=None
    )
    client.force_login(org.leader)
    client.get(URL)
    # session, user, groups, the badge's count, the pager's count, the page of requests,
    # their subjects
    with django_assert_num_queries(7):
        response = client.get(URL)
    page = response.content.decode()
    assert page.count('class="list-group-item list-group-item-action') == min(count + 1, 50)
    assert page.count('data-testid="inbox-returned"') == 1
