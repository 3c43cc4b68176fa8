from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.roles import Role
from approvals.models import ApprovalRequest, Decision
from outbound.models import WorkOrder

# Roles of the customer-service department that follow every submitted order.
OVERSEEING_ROLES = (Role.OUTBOUND_ADMIN, Role.CS_DEPARTMENT_LEADER, Role.CS_CENTRE_LEADER)


def orders_visible_to(*, user) -> QuerySet[WorkOrder]:
    """The orders a user may open: their own; once submitted, those of the department they
    lead, every order for the customer-service roles, approved ones for analysts, and any
    order they acted on, are asked to act on, or are assigned to."""
    if not user.is_authenticated:
        return WorkOrder.objects.none()
    requests = ApprovalRequest.objects.filter(
        subject_type__app_label="outbound",
        subject_type__model="workorder",
        subject_id=OuterRef("pk"),
    )
    submitted = Exists(requests.exclude(status=ApprovalRequest.Status.DRAFT))
    involved = (
        Q(department__leader=user)
        | Exists(
            Decision.objects.filter(
                request__subject_type__app_label="outbound",
                request__subject_type__model="workorder",
                request__subject_id=OuterRef("pk"),
                actor=user,
            )
        )
        | Exists(requests.filter(current_step__group__in=user.groups.all()))
        | Exists(WorkOrder.team.through.objects.filter(workorder_id=OuterRef("pk"), user=user))
    )
    if user.has_role(*OVERSEEING_ROLES) or user.is_superuser:
        involved = Q(pk__isnull=False)
    elif user.has_role(Role.ANALYST):
        involved |= Exists(requests.filter(status=ApprovalRequest.Status.APPROVED))
    return WorkOrder.objects.filter(Q(requester=user) | (Q(submitted) & involved))


def order_list(*, user, scope: str = "all") -> QuerySet[WorkOrder]:
    orders = orders_visible_to(user=user)
    if scope == "mine":
        orders = orders.filter(requester=user)
    return orders.select_related(
        "requester", "department", "questionnaire__questionnaire"
    ).prefetch_related(
        Prefetch(
            "approval_requests",
            queryset=ApprovalRequest.objects.select_related("current_step", "current_step__group"),
        )
    )


def order_detail(*, user, pk: int) -> WorkOrder:
    return order_list(user=user).prefetch_related("team").get(pk=pk)
