from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from approvals.models import ApprovalRequest, Decision, Step


def _waiting_for(user) -> Q:
    return Q(current_step__actor=Step.Actor.GROUP, current_step__group__in=user.groups.all()) | Q(
        current_step__actor=Step.Actor.DEPARTMENT_LEADER, department__leader=user
    )


def inbox(*, user) -> QuerySet[ApprovalRequest]:
    """Requests waiting on a step this user may act on, oldest deadline first."""
    return (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.IN_PROGRESS)
        .filter(_waiting_for(user))
        .exclude(requester=user)
        .select_related("current_step", "requester", "department", "chain", "subject_type")
        .prefetch_related("subject")
        .order_by("step_due_at", "pk")
    )


def inbox_count(*, user) -> int:
    return (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.IN_PROGRESS)
        .filter(_waiting_for(user))
        .exclude(requester=user)
        .count()
    )


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
