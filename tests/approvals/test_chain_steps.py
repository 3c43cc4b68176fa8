"""Changing a chain's steps in the admin: inserting, moving and removing steps renumbers
them 1, 2, 3... without tripping the unique position, and the requests already on the
chain keep their step and go on correctly. Run on SQLite and on PostgreSQL."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role
from approvals import services
from approvals.models import ApprovalRequest, Chain, Decision, Step
from outbound.services import order_decide, order_submit
from tests.factories import Org, UserFactory, make_order
from tests.html_forms import form_data, page_form

pytestmark = pytest.mark.django_db
Status = ApprovalRequest.Status
# A Monday morning in Shanghai, so due times are counted from a known working day.
MONDAY_10 = datetime.datetime(2026, 11, 23, 2, 0, tzinfo=datetime.UTC)

CUSTOMER_CHAIN = [
    "需求部门领导审批",
    "客服部外呼管理员审核",
    "客服部领导审批",
    "客服部外呼管理员分派任务",
    "客服中心领导审批安排",
    "客服中心外呼室执行外呼",
]
L1, A2, C3, ASSIGN4, CENTRE5, ROOM6 = CUSTOMER_CHAIN


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(MONDAY_10, tick=False):
        yield


@pytest.fixture
def org():
    return Org()


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def chain_names(chain) -> list[str]:
    steps = list(chain.steps.in_chain().order_by("position"))
    assert [step.position for step in steps] == list(range(1, len(steps) + 1))
    return [step.name for step in steps]


class StepsPage:
    """The admin's change form of a chain, read as the browser shows it, edited a row at a
    time and posted back whole."""

    def __init__(self, client, chain):
        self.client = client
        self.url = reverse("admin:approvals_chain_change", args=[chain.pk])
        page = client.get(self.url)
        assert page.status_code == 200
        self.data = form_data(page_form(page.content.decode(), self.url, page=self.url))

    def _row(self, name: str) -> str:
        for key, value in self.data.items():
            match = re.fullmatch(r"steps-(\d+)-name", key)
            if match and value == name:
                return f"steps-{match.group(1)}-"
        raise AssertionError(f"no row for {name}")

    def position_of(self, name: str) -> int:
        return int(self.data[self._row(name) + "position"])

    def put(self, name: str, position: int) -> "StepsPage":
        self.data[self._row(name) + "position"] = str(position)
        return self

    def remove(self, name: str) -> "StepsPage":
        self.data[self._row(name) + "DELETE"] = "on"
        return self

    def add(self, name: str, position: int, *, group: str | None = None) -> "StepsPage":
        """A new row, as the admin's "Add another step" makes one."""
        number = int(self.data["steps-TOTAL_FORMS"])
        row = {
            "position": position,
            "name": name,
            "kind": Step.Kind.APPROVE,
            "actor": Step.Actor.GROUP if group else Step.Actor.DEPARTMENT_LEADER,
            "group": Group.objects.get(name=group).pk if group else "",
            "time_limit_hours": "8",
        }
        for field, value in row.items():
            self.data[f"steps-{number}-{field}"] = str(value)
        self.data["steps-TOTAL_FORMS"] = str(number + 1)
        return self

    def save(self):
        return self.client.post(self.url, self.data)


@pytest.mark.parametrize("how", ["given its place", "others renumbered by hand"])
def test_a_step_inserted_in_the_middle_takes_its_place(org, admin_client, how):
    page = StepsPage(admin_client, org.chain)
    if how == "others renumbered by hand":
        for name in CUSTOMER_CHAIN[2:]:
            page.put(name, page.position_of(name) + 1)
    response = page.add("法务审核", 3, group=Role.OUTBOUND_ADMIN).save()
    assert response.status_code == 302
    assert chain_names(org.chain) == [L1, A2, "法务审核", C3, ASSIGN4, CENTRE5, ROOM6]


@pytest.mark.parametrize(
    ("name", "place", "expected"),
    [
        (CENTRE5, 2, [L1, CENTRE5, A2, C3, ASSIGN4, ROOM6]),
        (A2, 5, [L1, C3, ASSIGN4, CENTRE5, A2, ROOM6]),
        (ROOM6, 1, [ROOM6, L1, A2, C3, ASSIGN4, CENTRE5]),
        (L1, 99, [A2, C3, ASSIGN4, CENTRE5, ROOM6, L1]),
    ],
)
def test_a_step_moved_ends_at_the_place_given(org, admin_client, name, place, expected):
    response = StepsPage(admin_client, org.chain).put(name, place).save()
    assert response.status_code == 302
    assert chain_names(org.chain) == expected


def test_two_steps_swapped_by_hand(org, admin_client):
    response = StepsPage(admin_client, org.chain).put(C3, 4).put(ASSIGN4, 3).save()
    assert response.status_code == 302
    assert chain_names(org.chain) == [L1, A2, ASSIGN4, C3, CENTRE5, ROOM6]


def test_a_step_nobody_used_is_removed_and_the_gap_closed(org, admin_client):
    unused = org.chain.steps.get(name=C3)
    response = StepsPage(admin_client, org.chain).remove(C3).save()
    assert response.status_code == 302
    assert chain_names(org.chain) == [L1, A2, ASSIGN4, CENTRE5, ROOM6]
    assert not Step.objects.filter(pk=unused.pk).exists()


def test_insert_move_and_remove_in_one_save(org, admin_client):
    page = StepsPage(admin_client, org.chain)
    page.remove(A2).put(ROOM6, 1).add("法务审核", 3, group=Role.OUTBOUND_ADMIN)
    assert page.save().status_code == 302
    assert chain_names(org.chain) == [ROOM6, L1, "法务审核", C3, ASSIGN4, CENTRE5]
    # The admin's change form shows the new numbering.
    again = StepsPage(admin_client, org.chain)
    assert [again.position_of(name) for name in chain_names(org.chain)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.RETURNED])
def test_a_step_a_request_waits_at_cannot_be_removed(org, admin_client, status):
    order = make_order(org.requester, title="Broadband callback")
    order_submit(order=order, user=org.requester)
    order_decide(order=order, user=org.leader, action="approve")
    if status == Status.RETURNED:
        order_decide(order=order, user=org.outbound_admin, action="return", comment="Budget?")
    assert order.approval.status == status and order.approval.current_step.name == A2

    response = StepsPage(admin_client, org.chain).remove(A2).add("法务审核", 1).save()
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "“客服部外呼管理员审核” cannot be removed: 1 order waits at it (“Broadband callback”). "
        "Remove the step once the order has moved on."
    ) in page
    assert chain_names(org.chain) == CUSTOMER_CHAIN  # nothing saved, the new step neither
    with pytest.raises(ValidationError):
        services.chain_steps_reorder(
            chain=org.chain,
            steps=list(org.chain.steps.exclude(name=A2)),
            remove=[org.chain.steps.get(name=A2)],
        )
    assert chain_names(org.chain) == CUSTOMER_CHAIN


def test_the_refusal_counts_the_requests_and_names_a_few(org):
    for number in range(5):
        order = make_order(org.requester, title=f"Order {number}")
        order_submit(order=order, user=org.requester)
    first = org.chain.steps.get(name=L1)
    assert services.step_removal_refused(step=first) == (
        "“需求部门领导审批” cannot be removed: 5 orders wait at it "
        "(“Order 0”, “Order 1”, “Order 2”, …). Remove the step once they have moved on."
    )
    assert services.step_removal_refused(step=org.chain.steps.get(name=A2)) is None


def test_a_removed_step_that_the_history_names_leaves_the_chain_but_not_the_history(
    org, admin_client
):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    order_decide(order=order, user=org.leader, action="approve")  # now at step 2
    first = org.chain.steps.get(name=L1)

    response = StepsPage(admin_client, org.chain).remove(L1).save()
    assert response.status_code == 302
    assert chain_names(org.chain) == [A2, C3, ASSIGN4, CENTRE5, ROOM6]
    first.refresh_from_db()
    assert first.removed_at is not None
    assert Decision.objects.get(request=order.approval, action="approve").step == first
    # The admin lists the chain without it; the order page's chain too, its history not.
    assert L1 not in StepsPage(admin_client, org.chain).data.values()
    admin_client.force_login(org.requester)
    page = admin_client.get(order.get_absolute_url()).content.decode()
    chain_list = page.split('data-testid="chain"')[1].split("</ol>")[0]
    assert L1 not in chain_list and A2 in chain_list
    assert L1 in page.split('data-testid="chain"')[1].split("</ol>")[1]
    # A new order starts at the new first step.
    later = make_order(org.requester, title="Later")
    order_submit(order=later, user=org.requester)
    assert later.approval.current_step.name == A2


def test_a_request_in_progress_keeps_its_step_and_goes_on_through_the_chain_as_changed(
    org, admin_client
):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    order_decide(order=order, user=org.leader, action="approve")
    order_decide(order=order, user=org.outbound_admin, action="approve")
    request = order.approval
    current, due = request.current_step, request.step_due_at
    assert current.name == C3 and current.position == 3
    waiting_draft = make_order(org.requester, title="Filed before the change")

    # A step inserted before the request's step: the request stays where it is.
    StepsPage(admin_client, org.chain).add("合规预审", 1).save()
    request.refresh_from_db()
    assert request.current_step == current and request.step_due_at == due
    assert request.current_step.position == 4
    # And one right after it, which the request will pass through.
    page = StepsPage(admin_client, org.chain)
    page.add("财务审核", page.position_of(C3) + 1, group=Role.CS_CENTRE_LEADER).save()
    assert chain_names(org.chain) == ["合规预审", L1, A2, C3, "财务审核", ASSIGN4, CENTRE5, ROOM6]
    request.refresh_from_db()
    assert request.current_step == current and request.status == Status.IN_PROGRESS

    order_decide(order=order, user=org.cs_leader, action="approve")
    assert order.approval.current_step.name == "财务审核"
    order_decide(order=order, user=org.centre_leader, action="approve")
    assert order.approval.current_step.name == ASSIGN4
    order_decide(
        order=order, user=org.outbound_admin, action="approve", assignment=org.assignment()
    )
    order_decide(order=order, user=org.centre_leader, action="approve")
    order_decide(order=order, user=org.agent, action="approve")
    request = order.approval
    assert request.status == Status.APPROVED
    steps_decided = list(
        request.decisions.exclude(action="submit")
        .order_by("pk")
        .values_list("step_name", flat=True)
    )
    assert steps_decided == [L1, A2, C3, "财务审核", ASSIGN4, CENTRE5, ROOM6]

    # A draft filed before the change starts at the chain's first step as it is now.
    order_submit(order=waiting_draft, user=org.requester)
    assert waiting_draft.approval.current_step.name == "合规预审"
    order_decide(order=waiting_draft, user=org.leader, action="approve")
    assert waiting_draft.approval.current_step.name == L1


def test_a_returned_request_resumes_at_its_step_after_a_renumbering(org, admin_client):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    order_decide(order=order, user=org.leader, action="approve")
    order_decide(order=order, user=org.outbound_admin, action="return", comment="Budget?")
    returned_from = order.approval.current_step
    StepsPage(admin_client, org.chain).put(ROOM6, 1).add("合规预审", 2).save()
    order_submit(order=order, user=org.requester)
    request = order.approval
    assert request.status == Status.IN_PROGRESS and request.current_step == returned_from
    assert request.current_step.position == 4
    order_decide(order=order, user=org.outbound_admin, action="approve")
    assert order.approval.current_step.name == C3


def test_a_decision_on_a_request_read_before_a_renumbering_goes_to_the_right_step(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    order_decide(order=order, user=org.leader, action="approve")
    # The approver's page read the request (its step at position 2) ...
    read_before = ApprovalRequest.objects.select_related("current_step", "department").get(
        pk=order.approval.pk
    )
    # ... then two steps were put in front of it.
    steps = list(org.chain.steps.order_by("position"))
    new = [
        Step(name=f"Extra {n}", actor=Step.Actor.DEPARTMENT_LEADER, time_limit_hours=8)
        for n in (1, 2)
    ]
    services.chain_steps_reorder(chain=org.chain, steps=[*new, *steps])
    services.request_decide(request=read_before, user=org.outbound_admin, action="approve")
    request = ApprovalRequest.objects.get(pk=read_before.pk)
    assert request.current_step.name == C3


def test_reorder_renumbers_through_a_free_range_and_refuses_a_stale_list(org):
    steps = list(org.chain.steps.order_by("position"))
    services.chain_steps_reorder(chain=org.chain, steps=steps[::-1])
    assert chain_names(org.chain) == CUSTOMER_CHAIN[::-1]
    with pytest.raises(ValidationError, match="changed meanwhile"):
        services.chain_steps_reorder(chain=org.chain, steps=steps[1:])
    with pytest.raises(ValidationError, match="changed meanwhile"):
        services.chain_steps_reorder(chain=org.chain, steps=[*steps, steps[0]])
    assert chain_names(org.chain) == CUSTOMER_CHAIN[::-1]


def test_a_chain_left_without_steps_refuses_a_submission(org, admin_client):
    order = make_order(org.requester)
    page = StepsPage(admin_client, org.chain)
    for name in CUSTOMER_CHAIN:
        page.remove(name)
    assert page.save().status_code == 302
    assert chain_names(org.chain) == []
    with pytest.raises(ValidationError, match="has no steps"):
        order_submit(order=order, user=org.requester)
    assert order.approval.status == Status.DRAFT


def test_a_new_chain_is_built_with_its_steps_in_the_admin(org, admin_client):
    url = reverse("admin:approvals_chain_add")
    page = admin_client.get(url).content.decode()
    data = form_data(page_form(page, url, page=url))
    data.update(code="short", name="Short chain")
    for number, (name, position) in enumerate([("Second", 2), ("First", 1), ("Third", 2)]):
        data.update(
            {
                f"steps-{number}-position": str(position),
                f"steps-{number}-name": name,
                f"steps-{number}-kind": Step.Kind.APPROVE,
                f"steps-{number}-actor": Step.Actor.DEPARTMENT_LEADER,
                f"steps-{number}-time_limit_hours": "4",
            }
        )
    data["steps-TOTAL_FORMS"] = "3"
    assert admin_client.post(url, data).status_code == 302
    chain = Chain.objects.get(code="short")
    # Two new steps given the same place keep the order they were entered in.
    assert chain_names(chain) == ["First", "Second", "Third"]
