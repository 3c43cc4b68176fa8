"""Two approvers pressing "approve" at the same moment: exactly one wins. Runs on the
configured database (SQLite by default, PostgreSQL in CI's second pass) with two threads,
each on its own connection."""

import threading

import pytest
from django.db import connection

from accounts.roles import Role
from approvals import services
from approvals.models import ApprovalRequest, Decision
from outbound.services import order_decide, order_submit
from tests.factories import Org, UserFactory, make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("actions", [("approve", "approve"), ("approve", "reject")])
def test_two_approvers_at_once_only_one_wins(actions):
    org = Org()
    second_admin = UserFactory(username="oadmin2", department=org.cs, roles=[Role.OUTBOUND_ADMIN])
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    order_decide(order=order, user=org.leader, action="approve")  # now at step 2
    request_id = order.approval.pk

    barrier_users = [org.outbound_admin, second_admin]
    outcomes = []
    # Each user takes one of the actions.
    barrier = threading.Barrier(2)
    lock = threading.Lock()

    def decide(user, action):
        try:
            request = ApprovalRequest.objects.select_related(
                "current_step", "department", "chain"
            ).get(pk=request_id)
            barrier.wait(timeout=10)
            comment = "" if action == "approve" else "No."
            services.request_decide(request=request, user=user, action=action, comment=comment)
            result = "won"
        except services.ConcurrentDecision:
            result = "lost"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=decide, args=(user, action))
        for user, action in zip(barrier_users, actions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["lost", "won"]
    step_two = Decision.objects.filter(request_id=request_id, step__position=2)
    assert step_two.count() == 1
    request = ApprovalRequest.objects.get(pk=request_id)
    if step_two.get().action == "approve":
        assert request.current_step.position == 3
    else:
        assert request.status == ApprovalRequest.Status.REJECTED
