from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from approvals import services as approvals
from approvals.models import Decision, Step
from outbound.models import WorkOrder
from surveys.models import Mode as SurveyMode

ORDER_FIELDS = (
    "title",
    "kind",
    "background",
    "purpose",
    "target_description",
    "expected_contacts",
    "desired_start",
    "desired_end",
    "calling_hours_start",
    "calling_hours_end",
    "mode",
    "questionnaire",
)


def _check_questionnaire(*, mode: str, version) -> None:
    """The order's questionnaire must be published, and askable by keypad for a voice survey."""
    if version is None:
        return
    if not version.is_published:
        raise ValidationError(
            {"questionnaire": _("Choose a published version: a draft can still change.")}
        )
    if mode == WorkOrder.Mode.VOICE and version.mode != SurveyMode.VOICE:
        raise ValidationError(
            {
                "questionnaire": _(
                    "“%(q)s” is written for call agents. An automated voice survey needs a "
                    "questionnaire checked for keypad answers."
                )
                % {"q": version}
            }
        )


def order_create(*, user, data: dict[str, Any]) -> WorkOrder:
    """A draft order filed by `user`, with its approval request."""
    if user.department_id is None:
        raise ValidationError(
            _(
                "You belong to no department, so nobody could approve your order. "
                "Ask the system administrator to place you in one."
            )
        )
    _check_questionnaire(mode=data["mode"], version=data.get("questionnaire"))
    with transaction.atomic():
        order = WorkOrder(
            requester=user,
            department_id=user.department_id,
            **{k: data.get(k) for k in ORDER_FIELDS},
        )
        order.full_clean()
        order.save()
        approvals.request_create(subject=order, title=order.title, requester=user)
    return order


def order_update(*, order: WorkOrder, user, data: dict[str, Any]) -> WorkOrder:
    request = order.approval
    if user.pk != order.requester_id:
        raise PermissionDenied(_("Only the requester can edit this order."))
    if not request.is_editable:
        raise ValidationError(_("The order is in approval and can no longer be edited."))
    _check_questionnaire(mode=data["mode"], version=data.get("questionnaire"))
    with transaction.atomic():
        for field in ORDER_FIELDS:
            setattr(order, field, data.get(field))
        order.full_clean()
        order.save()
        type(request).objects.filter(pk=request.pk).update(title=order.title)
    return order


def order_submit(*, order: WorkOrder, user) -> WorkOrder:
    approvals.request_submit(request=order.approval, user=user)
    return order


def order_assign(
    *,
    order: WorkOrder,
    team,
    planned_start: date,
    planned_end: date,
    daily_volume: int,
    questionnaire=None,
) -> None:
    questionnaire = questionnaire or order.questionnaire
    if questionnaire is None:
        raise ValidationError({"questionnaire": _("Choose the questionnaire the agents will use.")})
    _check_questionnaire(mode=order.mode, version=questionnaire)
    if planned_end < planned_start:
        raise ValidationError({"planned_end": _("The end date cannot be before the start date.")})
    if daily_volume <= 0:
        raise ValidationError({"daily_volume": _("Enter a number of calls above zero.")})
    if not team:
        raise ValidationError({"team": _("Choose at least one agent.")})
    WorkOrder.objects.filter(pk=order.pk).update(
        planned_start=planned_start,
        planned_end=planned_end,
        daily_volume=daily_volume,
        questionnaire=questionnaire,
    )
    order.questionnaire = questionnaire
    order.team.set(team)


def order_decide(
    *,
    order: WorkOrder,
    user,
    action: str,
    comment: str = "",
    assignment: dict[str, Any] | None = None,
) -> WorkOrder:
    """An approver's decision; at an assignment step, approving saves the assignment too,
    in the same transaction, so a lost race leaves no half-made assignment behind."""
    request = order.approval
    step = request.current_step
    with transaction.atomic():
        if action == Decision.Action.APPROVE and step is not None and step.kind == Step.Kind.ASSIGN:
            if assignment is None:
                raise ValidationError(_("Fill in the assignment before approving this step."))
            order_assign(order=order, **assignment)
        approvals.request_decide(request=request, user=user, action=action, comment=comment)
    return order
