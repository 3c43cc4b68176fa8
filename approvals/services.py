"""Writes on approval requests. Each service owns its transaction; state changes are
conditional updates so two approvers acting at once cannot both win."""

from collections.abc import Callable, Sequence
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from approvals import signals
from approvals.calendar import WorkingCalendar
from approvals.models import ApprovalRequest, Chain, Decision, Step
from approvals.selectors import default_chain, user_can_act

Action = Decision.Action
Status = ApprovalRequest.Status


class ConcurrentDecision(ValidationError):
    """Somebody else acted on the request first."""


def _queue_email(kind: str, request_id: int, step_id: int | None = None) -> None:
    """Recorded in the caller's transaction, sent to the broker once it commits: a broker
    that is down then delays the e-mail, never the decision (ops.outbox)."""
    from approvals.tasks import send_request_email
    from ops.outbox import enqueue

    enqueue(send_request_email, kind=kind, request_id=request_id, step_id=step_id)


def _after_commit(func: Callable[[], object]) -> None:
    transaction.on_commit(func)


def _due_at(step: Step, started):
    return WorkingCalendar.load(started.date()).add_working_hours(started, step.time_limit_hours)


def request_create(*, subject: models.Model, title: str, requester, chain: Chain | None = None):
    """A draft request for `subject`, on the given chain or the default one."""
    chain = chain or default_chain()
    if chain is None:
        raise ValidationError(_("No approval chain is set up. Ask the system administrator."))
    if not chain.steps.in_chain().exists():
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
            step = request.chain.steps.in_chain().order_by("position").first()
            if step is None:
                raise ValidationError(
                    _("The approval chain “%(chain)s” has no steps.") % {"chain": request.chain}
                )
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
        _queue_email("step_started", request.pk, step.pk)
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
        # The step's position is read in the same query, not from the copy loaded with the
        # request: the chain may have been renumbered since.
        position_now = Step.objects.filter(pk=step.pk).values("position")[:1]
        next_step = (
            request.chain.steps.in_chain()
            .filter(position__gt=Subquery(position_now))
            .order_by("position")
            .first()
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
            _queue_email("returned", request.pk)
            _after_commit(partial(signals.request_returned.send, ApprovalRequest, request=request))
        elif update.get("status") == Status.REJECTED:
            _queue_email("rejected", request.pk)
            _after_commit(partial(signals.request_rejected.send, ApprovalRequest, request=request))
        elif update.get("status") == Status.APPROVED:
            _queue_email("approved", request.pk)
            _after_commit(partial(signals.request_approved.send, ApprovalRequest, request=request))
        else:
            _queue_email("step_started", request.pk, next_step.pk)
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
                _queue_email("overdue", request_id, step_id)
    return reminded


WAITING = (Status.IN_PROGRESS, Status.RETURNED)


def step_waiting_requests(*, step: Step) -> models.QuerySet[ApprovalRequest]:
    """The requests that wait at `step`: in approval there, or returned from there (they
    come back to it when resubmitted)."""
    return ApprovalRequest.objects.filter(current_step=step, status__in=WAITING)


def chain_steps_reorder(
    *, chain: Chain, steps: Sequence[Step], remove: Sequence[Step] = ()
) -> list[Step]:
    """Make `steps` the chain's steps, numbered 1, 2, 3... in the order given, after taking
    the steps in `remove` out of it. `steps` may hold new steps (saved here) and must hold
    every other step of the chain; their other fields are saved as they are.

    Requests already on the chain are not disturbed. A request points at its current step
    by key, not by position, so a renumbering leaves it on the same step with the same due
    time. When that step is approved the request goes on to the step that follows it in the
    chain as it stands then: a step inserted (or moved) after its current step is on its
    way, one inserted before it is not. A draft starts at whatever step is first when it is
    submitted. A step at which a request waits (in approval there, or returned from there)
    cannot be removed. A removed step that the history mentions stays in the table out of
    the chain (`removed_at`), so the decisions keep it; one nobody used is deleted.

    Positions are unique within a chain, a constraint checked row by row, so the steps are
    renumbered in two passes: first past the highest position in use, then to 1, 2, 3...
    Neither pass meets a position still in use, on SQLite or PostgreSQL."""
    with transaction.atomic():
        # One change to a chain at a time.
        Chain.objects.select_for_update().filter(pk=chain.pk).first()
        now = timezone.now()
        for step in remove:
            refused = step_removal_refused(step=step)
            if refused:
                raise ValidationError(refused)
            used = (
                Decision.objects.filter(step=step).exists()
                or ApprovalRequest.objects.filter(current_step=step).exists()
            )
            if used:
                Step.objects.filter(pk=step.pk).update(removed_at=now)
                step.removed_at = now
            else:
                step.delete()

        in_chain = set(chain.steps.in_chain().values_list("pk", flat=True))
        given = [step.pk for step in steps if step.pk is not None]
        if len(set(given)) != len(given) or set(given) != in_chain:
            raise ValidationError(_("The chain's steps changed meanwhile; reload the page."))

        parked = (chain.steps.in_chain().aggregate(top=Max("position"))["top"] or 0) + 1
        for number, step in enumerate(steps):
            step.chain = chain
            step.position = parked + number
            step.save()
        for number, step in enumerate(steps, start=1):
            Step.objects.filter(pk=step.pk).update(position=number)
            step.position = number
    return list(steps)


def step_removal_refused(*, step: Step) -> str | None:
    """Why `step` cannot be taken out of its chain now, or None if it can."""
    waiting = step_waiting_requests(step=step)
    count = waiting.count()
    if not count:
        return None
    titles = list(waiting.order_by("pk").values_list("title", flat=True)[:3])
    named = ", ".join(f"“{title}”" for title in titles) + (", …" if count > len(titles) else "")
    return ngettext(
        "“%(step)s” cannot be removed: %(count)d order waits at it (%(orders)s). "
        "Remove the step once the order has moved on.",
        "“%(step)s” cannot be removed: %(count)d orders wait at it (%(orders)s). "
        "Remove the step once they have moved on.",
        count,
    ) % {"step": step.name, "count": count, "orders": named}
