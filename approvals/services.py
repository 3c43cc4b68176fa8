"""Writes on approval requests. Each service owns its transaction; state changes are
conditional updates so two approvers acting at once cannot both win."""

from collections.abc import Callable
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import signals
from approvals.calendar import WorkingCalendar
from approvals.models import ApprovalRequest, Chain, Decision, Step
from approvals.selectors import default_chain, user_can_act

Action = Decision.Action
Status = ApprovalRequest.Status


class ConcurrentDecision(ValidationError):
    """Somebody else acted on the request first."""


def _queue_email(kind: str, request_id: int, step_id: int | None = None) -> None:
    from approvals.tasks import send_request_email

    send_request_email.delay(kind=kind, request_id=request_id, step_id=step_id)


def _after_commit(func: Callable[[], object]) -> None:
    transaction.on_commit(func)


def _due_at(step: Step, started):
    return WorkingCalendar.load(started.date()).add_working_hours(started, step.time_limit_hours)


def request_create(*, subject: models.Model, title: str, requester, chain: Chain | None = None):
    """A draft request for `subject`, on the given chain or the default one."""
    chain = chain or default_chain()
    if chain is None:
        raise ValidationError(_("No approval chain is set up. Ask the system administrator."))
    if not chain.steps.exists():
        raise ValidationError(_("The approval chain “%(chain)s” has no steps.") % {"chain": chain})
    if requester.department_id is None:
        raise ValidationError(
            _(
                "You belong to no department, so nobody could approve your order. "
                "Ask the system administrator to place you in one."
            )
        )
    return ApprovalRequest.objects.create(
        chain=chain,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        title=title,
        requester=requester,
        department_id=requester.department_id,
    )


def request_submit(*, request: ApprovalRequest, user) -> ApprovalRequest:
    """Send a draft into the chain, or a returned request back to the step that returned it."""
    if user.pk != request.requester_id:
        raise PermissionDenied(_("Only the requester can submit this order."))
    now = timezone.now()
    with transaction.atomic():
        if request.status == Status.DRAFT:
            step = request.chain.steps.order_by("position").first()
            action = Action.SUBMIT
        elif request.status == Status.RETURNED:
            step = request.current_step
            action = Action.RESUBMIT
        else:
            raise ValidationError(_("This order has already been submitted."))
        changed = ApprovalRequest.objects.filter(pk=request.pk, status=request.status).update(
            status=Status.IN_PROGRESS,
            current_step=step,
            step_started_at=now,
            step_due_at=_due_at(step, now),
            overdue_notified_at=None,
            submitted_at=request.submitted_at or now,
        )
        if changed != 1:
            raise ConcurrentDecision(_("This order changed meanwhile; reload the page."))
        Decision.objects.create(request=request, step=None, step_name="", actor=user, action=action)
        _after_commit(partial(_queue_email, "step_started", request.pk, step.pk))
    request.refresh_from_db()
    return request


def request_decide(
    *, request: ApprovalRequest, user, action: str, comment: str = ""
) -> ApprovalRequest:
    """Approve (or complete the assignment of), return or reject the current step."""
    comment = (comment or "").strip()
    step = request.current_step
    if not user_can_act(user=user, request=request):
        raise PermissionDenied(_("You cannot act on this order at its current step."))
    allowed = {Action.APPROVE, Action.RETURN, Action.REJECT}
    if action not in allowed:
        raise ValidationError(_("Unknown decision."))
    if action in (Action.RETURN, Action.REJECT) and not comment:
        raise ValidationError({"comment": _("Say why: a comment is required to return or reject.")})
    if action == Action.APPROVE and step.comment_required and not comment:
        raise ValidationError({"comment": _("This step requires a comment.")})
    recorded = (
        Action.ASSIGN if action == Action.APPROVE and step.kind == Step.Kind.ASSIGN else action
    )

    now = timezone.now()
    next_step = None
    if action == Action.APPROVE:
        next_step = (
            request.chain.steps.filter(position__gt=step.position).order_by("position").first()
        )
    if action == Action.RETURN:
        update = {"status": Status.RETURNED, "step_due_at": None}
    elif action == Action.REJECT:
        update = {
            "status": Status.REJECTED,
            "current_step": None,
            "step_due_at": None,
            "finished_at": now,
        }
    elif next_step is None:
        update = {
            "status": Status.APPROVED,
            "current_step": None,
            "step_due_at": None,
            "finished_at": now,
        }
    else:
        update = {
            "current_step": next_step,
            "step_started_at": now,
            "step_due_at": _due_at(next_step, now),
            "overdue_notified_at": None,
        }

    with transaction.atomic():
        changed = ApprovalRequest.objects.filter(
            pk=request.pk, status=Status.IN_PROGRESS, current_step=step
        ).update(**update)
        if changed != 1:
            raise ConcurrentDecision(
                _("Somebody else has already acted on this step; reload the page.")
            )
        Decision.objects.create(
            request=request,
            step=step,
            step_name=step.name,
            actor=user,
            action=recorded,
            comment=comment,
            step_started_at=request.step_started_at,
        )
        request.refresh_from_db()
        if update.get("status") == Status.RETURNED:
            _after_commit(partial(_queue_email, "returned", request.pk))
            _after_commit(partial(signals.request_returned.send, ApprovalRequest, request=request))
        elif update.get("status") == Status.REJECTED:
            _after_commit(partial(_queue_email, "rejected", request.pk))
            _after_commit(partial(signals.request_rejected.send, ApprovalRequest, request=request))
        elif update.get("status") == Status.APPROVED:
            _after_commit(partial(_queue_email, "approved", request.pk))
            _after_commit(partial(signals.request_approved.send, ApprovalRequest, request=request))
        else:
            _after_commit(partial(_queue_email, "step_started", request.pk, next_step.pk))
    return request


def overdue_steps_remind(*, now=None) -> int:
    """E-mail the candidates of every step that has passed its due time, once per step."""
    now = now or timezone.now()
    due = ApprovalRequest.objects.filter(
        status=Status.IN_PROGRESS, step_due_at__lt=now, overdue_notified_at__isnull=True
    ).values_list("pk", "current_step_id")
    reminded = 0
    for request_id, step_id in due:
        with transaction.atomic():
            claimed = ApprovalRequest.objects.filter(
                pk=request_id,
                status=Status.IN_PROGRESS,
                current_step_id=step_id,
                overdue_notified_at__isnull=True,
            ).update(overdue_notified_at=now)
            if claimed:
                reminded += 1
                _after_commit(partial(_queue_email, "overdue", request_id, step_id))
    return reminded
