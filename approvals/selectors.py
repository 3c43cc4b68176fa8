from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from approvals.models import ApprovalRequest, Decision, Step


def _waiting_for(user) -> Q:
    return Q(current_step__actor=Step.Actor.GROUP, current_step__group__in=user.groups.all()) | Q(
        current_step__actor=Step.Actor.DEPARTMENT_LEADER, department__leader=user
    )


def _waits_on(user) -> Q:
    """What waits for `user`: a step they may act on (never on a request of their own), and
    their own requests returned to them for changes."""
    Status = ApprovalRequest.Status
    return (Q(status=Status.IN_PROGRESS) & _waiting_for(user) & ~Q(requester=user)) | Q(
        status=Status.RETURNED, requester=user
    )


def inbox(*, user) -> QuerySet[ApprovalRequest]:
    """What waits for `user`: their returned requests first (they have no due time), then
    the steps they may act on, oldest deadline first. A returned request carries the
    comment it was returned with as `return_comment`."""
    last_return = Decision.objects.filter(
        request=OuterRef("pk"), action=Decision.Action.RETURN
    ).order_by("-created_at", "-pk")
    return (
        ApprovalRequest.objects.filter(_waits_on(user))
        .annotate(
            return_comment=Subquery(last_return.values("comment")[:1]),
            returned_at=Subquery(last_return.values("created_at")[:1]),
        )
        .select_related("current_step", "requester", "department", "chain", "subject_type")
        .prefetch_related("subject")
        .order_by(F("step_due_at").asc(nulls_first=True), "pk")
    )


def inbox_count(*, user) -> int:
    """How many things wait for `user`: the number the navigation shows."""
    return ApprovalRequest.objects.filter(_waits_on(user)).count()


def user_can_act(*, user, request: ApprovalRequest) -> bool:
    """May `user` decide on the request's current step right now?"""
    if request.status != ApprovalRequest.Status.IN_PROGRESS or request.current_step is None:
        return False
    if not user.is_authenticated or not user.is_active or user.pk == request.requester_id:
        return False
    step = request.current_step
    if step.actor == Step.Actor.DEPARTMENT_LEADER:
        return request.department.leader_id == user.pk
    return user.groups.filter(pk=step.group_id).exists()


def step_candidates(*, request: ApprovalRequest):
    """The active users who may act on the request's current step (never its requester)."""
    User = get_user_model()
    step = request.current_step
    if step is None:
        return User.objects.none()
    if step.actor == Step.Actor.DEPARTMENT_LEADER:
        users = User.objects.filter(pk=request.department.leader_id)
    else:
        users = User.objects.filter(groups=step.group_id)
    return users.filter(is_active=True).exclude(pk=request.requester_id).distinct()


def history(*, request: ApprovalRequest) -> QuerySet[Decision]:
    return request.decisions.select_related("actor", "step").order_by("created_at", "pk")


def chain_steps(*, request: ApprovalRequest) -> list[Step]:
    return list(request.chain.steps.in_chain().select_related("group").order_by("position"))


def default_chain():
    from approvals.models import Chain

    return Chain.objects.filter(is_default=True).first()
