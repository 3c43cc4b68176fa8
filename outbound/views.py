from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Role
from approvals.calendar import WorkingCalendar
from approvals.models import Decision, Step
from approvals.selectors import chain_steps, history, user_can_act
from outbound import selectors, services
from outbound.forms import AssignmentForm, DecisionForm, OrderFilterForm, WorkOrderForm
from outbound.listing import Column, Sorting, page_of, query_without
from outbound.models import WorkOrder


def _order_or_404(request, pk: int) -> WorkOrder:
    try:
        return selectors.order_detail(user=request.user, pk=pk)
    except WorkOrder.DoesNotExist:
        raise Http404(_("No such order.")) from None


def _require_requester(request) -> None:
    if not request.user.has_role(Role.REQUESTER):
        raise PermissionDenied(_("Only requesters can file orders."))


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


ORDER_SORTS = {
    "number": ("pk",),
    "title": ("title",),
    "kind": ("kind",),
    "requester": ("requester__display_name", "requester__username"),
    "contacts": ("expected_contacts",),
    "dates": ("desired_start", "desired_end"),
    "filed": ("created_at",),
    "status": ("approval_requests__status",),
}
ORDER_COLUMNS = [
    Column(gettext_lazy("No."), "number"),
    Column(gettext_lazy("Title"), "title"),
    Column(gettext_lazy("Kind"), "kind"),
    Column(gettext_lazy("Requester"), "requester"),
    Column(gettext_lazy("Contacts (imported / planned)"), "contacts", "text-end"),
    Column(gettext_lazy("Dates"), "dates"),
    Column(gettext_lazy("Filed"), "filed"),
    Column(gettext_lazy("Where it stands"), "status"),
]


def order_list(request):
    scope = request.GET.get("scope", "all")
    if scope not in ("all", "mine"):
        scope = "all"
    filters = OrderFilterForm(request.GET)
    sorting = Sorting(request.GET, ORDER_SORTS, default="-filed")
    orders = selectors.order_list(
        user=request.user,
        scope=scope,
        ordering=sorting.order_by(WorkOrder),
        **filters.criteria(),
    )
    page = page_of(request.GET, orders)
    rows = list(page)
    imported = selectors.imported_counts(orders=rows)
    for order in rows:
        order.imported_contacts = imported.get(order.pk, 0)
    scope_query = query_without(request.GET, "scope")
    return render(
        request,
        "outbound/order_list.html",
        {
            "page": page,
            "scope": scope,
            "filters": filters,
            "sort": sorting.value,
            "columns": sorting.headers(ORDER_COLUMNS),
            "query": query_without(request.GET),
            "scope_query": f"{scope_query}&" if scope_query else "",
            "filtered": any(filters.criteria().values()),
        },
    )


def order_create(request):
    _require_requester(request)
    form = WorkOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(user=request.user, data=form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("The order is saved as a draft. Submit it when ready."))
            return redirect(order)
    return render(request, "outbound/order_form.html", {"form": form, "order": None})


def order_edit(request, pk: int):
    order = _order_or_404(request, pk)
    if order.requester_id != request.user.pk:
        raise PermissionDenied(_("Only the requester can edit this order."))
    if not order.approval.is_editable:
        messages.error(request, _("The order is in approval and can no longer be edited."))
        return redirect(order)
    form = WorkOrderForm(request.POST or None, instance=order)
    if request.method == "POST" and form.is_valid():
        try:
            services.order_update(order=order, user=request.user, data=form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect(order)
    return render(request, "outbound/order_form.html", {"form": form, "order": order})


def _timeline(approval, decisions, now):
    """The decisions in order with the working hours each step took."""
    calendar = WorkingCalendar.load(now.date())
    rows = []
    for decision in decisions:
        took = None
        if decision.step_started_at:
            took = calendar.working_hours_between(decision.step_started_at, decision.created_at)
        rows.append({"decision": decision, "working_hours": took})
    return rows


def order_detail(request, pk: int, *, decision_form=None, assignment_form=None, status=200):
    order = _order_or_404(request, pk)
    approval = order.approval
    now = timezone.now()
    can_act = user_can_act(user=request.user, request=approval)
    step = approval.current_step
    if can_act:
        decision_form = decision_form or DecisionForm(comment_required=step.comment_required)
        if step.kind == Step.Kind.ASSIGN:
            assignment_form = assignment_form or AssignmentForm(order=order)
    decisions = list(history(request=approval))
    context = {
        "order": order,
        "approval": approval,
        "steps": chain_steps(request=approval),
        "timeline": _timeline(approval, decisions, now),
        "can_act": can_act,
        "can_edit": approval.is_editable and order.requester_id == request.user.pk,
        "can_run": request.user.has_role(Role.OUTBOUND_ADMIN)
        or order.requester_id == request.user.pk,
        "can_read_results": request.user.has_role(Role.ANALYST, Role.OUTBOUND_ADMIN)
        or order.requester_id == request.user.pk,
        "decision_form": decision_form,
        "assignment_form": assignment_form,
        "overdue": approval.is_overdue(now),
        "waiting_working_hours": (
            WorkingCalendar.load(now.date()).working_hours_between(approval.step_started_at, now)
            if approval.step_started_at and approval.status == approval.Status.IN_PROGRESS
            else None
        ),
    }
    return render(request, "outbound/order_detail.html", context, status=status)


@require_POST
def order_submit(request, pk: int):
    order = _order_or_404(request, pk)
    try:
        services.order_submit(order=order, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The order is submitted for approval."))
    return redirect(order)


@require_POST
def order_decide(request, pk: int):
    order = _order_or_404(request, pk)
    approval = order.approval
    if not user_can_act(user=request.user, request=approval):
        seen_step = request.POST.get("step")
        if seen_step and seen_step != str(approval.current_step_id):
            # The page was opened at a step that somebody has decided on since.
            messages.error(request, _("Somebody else has already acted on this step."))
            return redirect(order)
        raise PermissionDenied(_("You cannot act on this order at its current step."))
    step = approval.current_step
    form = DecisionForm(request.POST, comment_required=step.comment_required)
    assignment_form = None
    valid = form.is_valid()
    assignment = None
    if step.kind == Step.Kind.ASSIGN and request.POST.get("action") == Decision.Action.APPROVE:
        assignment_form = AssignmentForm(request.POST, order=order)
        if assignment_form.is_valid():
            assignment = assignment_form.cleaned_data
        else:
            valid = False
    if valid:
        try:
            services.order_decide(
                order=order,
                user=request.user,
                action=form.cleaned_data["action"],
                comment=form.cleaned_data["comment"],
                assignment=assignment,
            )
        except ValidationError as error:
            _form_errors(
                assignment_form if assignment_form and hasattr(error, "error_dict") else form, error
            )
        else:
            messages.success(request, _("Your decision is recorded."))
            return redirect(order)
    return order_detail(
        request, pk, decision_form=form, assignment_form=assignment_form, status=400
    )


def home(request):
    user = request.user
    if any(
        user.has_role(role)
        for role in (
            Role.DEPARTMENT_LEADER,
            Role.OUTBOUND_ADMIN,
            Role.CS_DEPARTMENT_LEADER,
            Role.CS_CENTRE_LEADER,
        )
    ):
        return redirect("approvals:inbox")
    return redirect("outbound:order_list")
