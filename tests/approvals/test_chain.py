"""The approval chain through its services: order of steps, who may act, the history,
time limits, e-mails and the approved event."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.deletion import ProtectedError

from approvals import services
from approvals.models import ApprovalRequest, Decision, Step
from approvals.selectors import inbox, inbox_count, step_candidates
from approvals.signals import request_approved
from outbound.models import WorkOrder
from outbound.services import order_decide, order_submit, order_update
from tests.factories import Org, make_order, order_data

pytestmark = pytest.mark.django_db
Status = ApprovalRequest.Status
MONDAY_10 = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC) - datetime.timedelta(
    hours=8
)


@pytest.fixture
def org():
    return Org()


def approve_through(org, order, last_position: int) -> None:
    for position in range(order.approval.current_step.position, last_position + 1):
        actor = org.step_actor(position)
        assignment = org.assignment() if position == 4 else None
        order_decide(order=order, user=actor, action="approve", comment="", assignment=assignment)


def test_default_chain_has_the_customers_six_steps(org):
    steps = list(org.chain.steps.order_by("position"))
    assert [s.name for s in steps] == [
        "需求部门领导审批",
        "客服部外呼管理员审核",
        "客服部领导审批",
        "客服部外呼管理员分派任务",
        "客服中心领导审批安排",
        "客服中心外呼室执行外呼",
    ]
    assert steps[0].actor == Step.Actor.DEPARTMENT_LEADER
    assert [s.kind for s in steps].count(Step.Kind.ASSIGN) == 1
    assert steps[3].kind == Step.Kind.ASSIGN


def test_draft_then_submit_starts_the_first_step_with_its_due_time(org):
    order = make_order(org.requester)
    assert order.approval.status == Status.DRAFT
    with time_machine.travel(MONDAY_10, tick=False):
        order_submit(order=order, user=org.requester)
    request = order.approval
    assert request.status == Status.IN_PROGRESS
    assert request.current_step.position == 1
    # Eight working hours from Monday 10:00 (09:00-18:00 days) is Monday 18:00.
    assert request.step_due_at == datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
    assert list(request.decisions.values_list("action", flat=True)) == ["submit"]


def test_only_the_requester_submits(org):
    order = make_order(org.requester)
    with pytest.raises(PermissionDenied):
        order_submit(order=order, user=org.leader)
    order_submit(order=order, user=org.requester)
    with pytest.raises(ValidationError):
        order_submit(order=order, user=org.requester)


def test_full_chain_ends_approved_and_ready(org, django_capture_on_commit_callbacks):
    received = []
    request_approved.connect(
        lambda sender, request, **kw: received.append(request.pk),
        weak=False,
        dispatch_uid="test-approved",
    )
    try:
        order = make_order(org.requester)
        with django_capture_on_commit_callbacks(execute=True):
            order_submit(order=order, user=org.requester)
        with django_capture_on_commit_callbacks(execute=True):
            approve_through(org, order, 6)
    finally:
        request_approved.disconnect(dispatch_uid="test-approved")
    order.refresh_from_db()
    request = order.approval
    assert request.status == Status.APPROVED and request.current_step is None
    assert request.finished_at is not None
    assert received == [request.pk]
    assert order.run_status == WorkOrder.RunStatus.READY
    assert list(order.team.all()) == [org.agent]
    assert order.daily_volume == 120
    actions = list(
        request.decisions.order_by("pk").values_list("action", "step_name", "actor__username")
    )
    assert actions == [
        ("submit", "", "req"),
        ("approve", "需求部门领导审批", "leader"),
        ("approve", "客服部外呼管理员审核", "oadmin"),
        ("approve", "客服部领导审批", "csleader"),
        ("assign", "客服部外呼管理员分派任务", "oadmin"),
        ("approve", "客服中心领导审批安排", "centreleader"),
        ("approve", "客服中心外呼室执行外呼", "agent"),
    ]
    approved_mail = [m for m in mail.outbox if m.to == ["req@example.com"]]
    assert len(approved_mail) == 1 and "Approved" in approved_mail[0].subject


def test_step_start_emails_its_candidates_in_text_and_html(org, django_capture_on_commit_callbacks):
    org.outbound_admin.language = "zh-hans"
    org.outbound_admin.save()
    order = make_order(org.requester)
    with django_capture_on_commit_callbacks(execute=True):
        order_submit(order=order, user=org.requester)
    first = [m for m in mail.outbox if m.to == ["leader@example.com"]]
    assert len(first) == 1
    assert order.title in first[0].body and f"/orders/{order.pk}/" in first[0].body
    assert first[0].alternatives[0][1] == "text/html"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approve_through(org, order, 1)
    (to_admin,) = mail.outbox
    assert to_admin.to == ["oadmin@example.com"]
    assert "等待" in to_admin.subject or "待" in to_admin.subject  # the admin reads Chinese


def test_assignment_step_requires_the_assignment(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    approve_through(org, order, 3)
    with pytest.raises(ValidationError):
        order_decide(order=order, user=org.outbound_admin, action="approve", assignment=None)
    bad = org.assignment() | {
        "planned_end": org.assignment()["planned_start"] - datetime.timedelta(days=1)
    }
    with pytest.raises(ValidationError):
        order_decide(order=order, user=org.outbound_admin, action="approve", assignment=bad)
    assert order.approval.current_step.position == 4
    assert not order.team.exists()


def test_return_needs_a_comment_and_resumes_at_the_returning_step(
    org, django_capture_on_commit_callbacks
):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    approve_through(org, order, 2)
    with pytest.raises(ValidationError):
        order_decide(order=order, user=org.cs_leader, action="return", comment="  ")
    with django_capture_on_commit_callbacks(execute=True):
        order_decide(order=order, user=org.cs_leader, action="return", comment="Add the budget.")
    request = order.approval
    assert request.status == Status.RETURNED
    assert request.current_step.position == 3
    assert any(m.to == ["req@example.com"] and "Add the budget." in m.body for m in mail.outbox)
    # The requester edits and resubmits; the chain resumes where it was returned.
    order_update(order=order, user=org.requester, data=order_data(background="Budget: 2 万元"))
    order_submit(order=order, user=org.requester)
    request = order.approval
    assert request.status == Status.IN_PROGRESS and request.current_step.position == 3
    assert request.decisions.order_by("-pk").first().action == Decision.Action.RESUBMIT


def test_reject_closes_the_order(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    with pytest.raises(ValidationError):
        order_decide(order=order, user=org.leader, action="reject", comment="")
    order_decide(order=order, user=org.leader, action="reject", comment="Not this quarter.")
    request = order.approval
    assert request.status == Status.REJECTED and request.current_step is None
    with pytest.raises(ValidationError):
        order_submit(order=order, user=org.requester)
    with pytest.raises(ValidationError):
        order_update(order=order, user=org.requester, data=order_data())


def test_nobody_acts_on_their_own_order(org):
    # The outbound administrator files an order of their own; at step 2 they are a member
    # of the step's group, and still may not act on it.
    org.outbound_admin.groups.add(*org.requester.groups.all())
    order = make_order(org.outbound_admin, title="Admin's own")
    org.cs.leader = org.cs_leader
    org.cs.save()
    order_submit(order=order, user=org.outbound_admin)
    order_decide(order=order, user=org.cs_leader, action="approve")
    assert order.approval.current_step.position == 2
    assert org.outbound_admin not in step_candidates(request=order.approval)
    assert not inbox(user=org.outbound_admin).filter(pk=order.approval.pk).exists()
    with pytest.raises(PermissionDenied):
        order_decide(order=order, user=org.outbound_admin, action="approve")


def test_only_the_current_steps_actor_may_act(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    for outsider in (org.other_leader, org.outbound_admin, org.nobody, org.analyst, org.agent):
        with pytest.raises(PermissionDenied):
            order_decide(order=order, user=outsider, action="approve")
    order_decide(order=order, user=org.leader, action="approve")
    with pytest.raises(PermissionDenied):  # step 1 is over
        order_decide(order=order, user=org.leader, action="approve")


def test_stale_decision_loses(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    stale = ApprovalRequest.objects.select_related("current_step", "department").get(
        pk=order.approval.pk
    )
    order_decide(order=order, user=org.leader, action="approve")
    # The stale copy still says step 1; the conditional update refuses it.
    with pytest.raises(services.ConcurrentDecision):
        services.request_decide(request=stale, user=org.leader, action="approve")
    assert order.approval.decisions.filter(action="approve").count() == 1


def test_comment_required_step(org):
    step = org.chain.steps.get(position=1)
    step.comment_required = True
    step.save()
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    with pytest.raises(ValidationError):
        order_decide(order=order, user=org.leader, action="approve", comment="")
    order_decide(order=order, user=org.leader, action="approve", comment="OK")


def test_history_cannot_be_changed_or_deleted(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    decision = order.approval.decisions.get()
    decision.comment = "rewritten"
    with pytest.raises(ValidationError):
        decision.save()
    with pytest.raises(ValidationError):
        decision.delete()
    with pytest.raises(ProtectedError):
        order.approval.delete()
    with pytest.raises(ProtectedError):
        org.requester.delete()


def test_inbox_shows_what_waits_for_each_user(org):
    order = make_order(org.requester)
    other = make_order(org.other_requester, title="Network order")
    order_submit(order=order, user=org.requester)
    order_submit(order=other, user=org.other_requester)
    assert [r.title for r in inbox(user=org.leader)] == [order.title]
    assert [r.title for r in inbox(user=org.other_leader)] == ["Network order"]
    assert inbox_count(user=org.outbound_admin) == 0
    order_decide(order=order, user=org.leader, action="approve")
    assert inbox_count(user=org.leader) == 0
    assert inbox_count(user=org.outbound_admin) == 1


def test_overdue_steps_are_reminded_once(org, django_capture_on_commit_callbacks):
    order = make_order(org.requester)
    with time_machine.travel(MONDAY_10, tick=False):
        order_submit(order=order, user=org.requester)
    mail.outbox.clear()
    due = order.approval.step_due_at
    with django_capture_on_commit_callbacks(execute=True):
        assert services.overdue_steps_remind(now=due - datetime.timedelta(minutes=1)) == 0
        assert services.overdue_steps_remind(now=due + datetime.timedelta(minutes=1)) == 1
        assert services.overdue_steps_remind(now=due + datetime.timedelta(hours=5)) == 0
    (reminder,) = mail.outbox
    assert reminder.to == ["leader@example.com"] and "Overdue" in reminder.subject
    # The next step gets its own due time and its own reminder.
    order_decide(order=order, user=org.leader, action="approve")
    request = order.approval
    assert request.overdue_notified_at is None
    assert (
        services.overdue_steps_remind(now=request.step_due_at + datetime.timedelta(minutes=1)) == 1
    )


def test_requester_without_department_cannot_file(org):
    org.requester.department = None
    org.requester.save()
    with pytest.raises(ValidationError):
        make_order(org.requester)
    assert not WorkOrder.objects.exists()
