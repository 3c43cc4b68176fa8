import datetime
from collections.abc import Sequence

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
    if user.has_role(*OVERSEEING_ROLES) or user.is_superuser:
        # Every order once submitted. A join with the order's one request, not a subquery
        # per order: the database can walk the orders in a page's order and stop at its end.
        submitted = [s for s in ApprovalRequest.Status.values if s != ApprovalRequest.Status.DRAFT]
        return WorkOrder.objects.filter(
            Q(requester=user) | Q(approval_requests__status__in=submitted)
        )
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
    if user.has_role(Role.ANALYST):
        involved |= Exists(requests.filter(status=ApprovalRequest.Status.APPROVED))
    return WorkOrder.objects.filter(Q(requester=user) | (Q(submitted) & involved))


def _with_approval(orders: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    return orders.select_related(
        "requester", "department", "questionnaire__questionnaire"
    ).prefetch_related(
        Prefetch(
            "approval_requests",
            queryset=ApprovalRequest.objects.select_related("current_step", "current_step__group"),
        )
    )


def _order_search(text: str) -> Q:
    """Title, requester (user name or the name shown) or order number."""
    query = (
        Q(title__icontains=text)
        | Q(requester__username__icontains=text)
        | Q(requester__display_name__icontains=text)
        | Q(requester__first_name__icontains=text)
        | Q(requester__last_name__icontains=text)
    )
    pk = WorkOrder.pk_from_number(text)
    if pk is not None:
        query |= Q(pk=pk)
    return query


def order_list(
    *,
    user,
    scope: str = "all",
    search: str = "",
    status: str = "",
    kind: str = "",
    department=None,
    filed_from: datetime.date | None = None,
    filed_until: datetime.date | None = None,
    ordering: Sequence = (),
) -> QuerySet[WorkOrder]:
    """The orders `user` may see, filtered: `status` is the approval's, the filing dates
    are days in the current time zone, both ends included."""
    orders = orders_visible_to(user=user)
    if scope == "mine":
        orders = orders.filter(requester=user)
    search = search.strip()
    if search:
        orders = orders.filter(_order_search(search))
    if status:
        orders = orders.filter(approval_requests__status=status)
    if kind:
        orders = orders.filter(kind=kind)
    if department is not None:
        orders = orders.filter(department=department)
    if filed_from:
        orders = orders.filter(created_at__date__gte=filed_from)
    if filed_until:
        orders = orders.filter(created_at__date__lte=filed_until)
    if ordering:
        orders = orders.order_by(*ordering)
    return _with_approval(orders)


def imported_counts(*, orders: Sequence[WorkOrder]) -> dict[int, int]:
    """{order id: contacts imported into it} for a page of orders, from the campaigns' kept
    counts (one query, whatever the lists' sizes)."""
    from outbound.dialer.counts import CONTACT, campaign_counts

    kept = campaign_counts(campaign_ids=[order.pk for order in orders])
    return {pk: counts.get((CONTACT, ""), 0) for pk, counts in kept.items()}


def order_detail(*, user, pk: int) -> WorkOrder:
    return _with_approval(orders_visible_to(user=user)).prefetch_related("team").get(pk=pk)
