"""Waihu's HTTP API, version 1. Each endpoint checks the token's scope and reach, then calls
the other apps' services and selectors: no business rule is written here."""

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, NinjaAPI, Query, Schema
from ninja.responses import Status

from api import errors
from api.auth import TokenAuth, require_scope
from api.contacts import MAX_BATCH, contacts_push, rejected_message
from api.errors import ApiError
from api.models import Delivery, EventType, Scope, Subscription
from api.results import BadCursor, completed_page
from api.services import campaigns_within_reach, subscription_create
from approvals.models import ApprovalRequest
from outbound import services as orders
from outbound.contacts.rules import RejectReason
from outbound.contacts.services import dnc_add, dnc_remove
from outbound.dialer.selectors import progress as campaign_progress
from outbound.models import DoNotCallEntry, WorkOrder
from outbound.privacy import integration_sees_phones, phone_for_integration

api = NinjaAPI(
    title="Waihu API",
    version="1",
    description=(
        "Work orders, contacts, results and do-not-call entries for the operator's own "
        "systems. Authenticate with `Authorization: Bearer <token>`. Errors are "
        '`{"error": {"code", "message", "field"}}`.'
    ),
    auth=TokenAuth(),
    urls_namespace="api-v1",
)
errors.install(api)


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorDetail


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _or_404(request: HttpRequest, pk: int) -> WorkOrder:
    """The campaign, when it is within the integration's reach; 404 otherwise."""
    campaign = (
        campaigns_within_reach(integration=request.auth)
        .select_related("dialing")
        .filter(pk=pk)
        .first()
    )
    if campaign is None:
        raise errors.not_found()
    return campaign


# --- work orders ---------------------------------------------------------------------


class OrderIn(Schema):
    title: str = Field(max_length=200)
    kind: WorkOrder.Kind
    background: str
    purpose: str
    target_description: str
    expected_contacts: int = Field(gt=0)
    desired_start: datetime.date
    desired_end: datetime.date
    calling_hours_start: datetime.time = datetime.time(9, 0)
    calling_hours_end: datetime.time = datetime.time(20, 0)
    mode: WorkOrder.Mode = WorkOrder.Mode.AGENTS
    submit: bool = Field(False, description="Submit for approval at once.")


class DecisionOut(Schema):
    step: str
    action: str
    actor: str
    comment: str
    at: datetime.datetime


class OrderOut(Schema):
    id: int
    title: str
    kind: str
    department: str
    requester: str
    status: str = Field(description="draft, in_progress, returned, rejected or approved")
    current_step: str | None
    run_status: str
    history: list[DecisionOut]


def _order_out(order: WorkOrder) -> dict[str, Any]:
    request: ApprovalRequest = order.approval_requests.select_related("current_step").first()
    decisions = request.decisions.select_related("actor").order_by("created_at", "pk")
    return {
        "id": order.pk,
        "title": order.title,
        "kind": order.kind,
        "department": order.department.code,
        "requester": order.requester.username,
        "status": request.status,
        "current_step": request.current_step.name if request.current_step else None,
        "run_status": order.run_status,
        "history": [
            {
                "step": d.step_name,
                "action": d.action,
                "actor": d.actor.username if d.actor else "",
                "comment": d.comment,
                "at": d.created_at,
            }
            for d in decisions
        ],
    }


def _order(request: HttpRequest, pk: int) -> WorkOrder:
    try:
        return (
            campaigns_within_reach(integration=request.auth)
            .select_related("department", "requester")
            .get(pk=pk)
        )
    except WorkOrder.DoesNotExist as error:
        raise errors.not_found() from error


@api.post("/orders", response={201: OrderOut, **ERRORS}, tags=["orders"])
def order_file(request: HttpRequest, payload: OrderIn):
    """Files a work order as a draft in the name of the integration's requester, and
    submits it when `submit` is true: it then travels the approval chain like any other."""
    integration = require_scope(request, Scope.ORDERS)
    requester = integration.requester
    if requester is None:
        raise ApiError(
            409, "no_requester", _("The integration names no requester to file orders for.")
        )
    if not integration.departments.filter(pk=requester.department_id).exists():
        raise ApiError(
            403, "department_outside_reach", _("The requester's department is outside reach.")
        )
    data = payload.dict()
    submit = data.pop("submit")
    order = orders.order_create(user=requester, data={**data, "questionnaire": None})
    if submit:
        orders.order_submit(order=order, user=requester)
    return Status(201, _order_out(_order(request, order.pk)))


@api.post("/orders/{order_id}/submit", response={200: OrderOut, **ERRORS}, tags=["orders"])
def order_submit(request: HttpRequest, order_id: int):
    """Submits a draft (or resubmits a returned order) for approval."""
    integration = require_scope(request, Scope.ORDERS)
    order = _order(request, order_id)
    if integration.requester_id != order.requester_id:
        raise errors.not_found()
    orders.order_submit(order=order, user=integration.requester)
    return _order_out(_order(request, order_id))


@api.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, tags=["orders"])
def order_read(request: HttpRequest, order_id: int):
    """The order's approval status and its history of decisions."""
    require_scope(request, Scope.ORDERS)
    return _order_out(_order(request, order_id))


# --- contacts --------------------------------------------------------------------------


class ContactIn(Schema):
    phone: str | None = None
    name: str = ""
    brand: str = ""
    region: str = ""
    segment: str = ""
    deadline: str | None = Field(None, description="The callback deadline, YYYY-MM-DD.")
    feedback_at: str | None = Field(
        None,
        description="When the complaint was answered; the deadline is that date plus the "
        "callback days (7 by default).",
    )
    attributes: dict[str, str] = {}


class ContactsIn(Schema):
    contacts: list[ContactIn] = Field(max_length=MAX_BATCH)


class RejectedRow(Schema):
    index: int
    phone: str | None
    reason: RejectReason
    duplicate_of: int | None = Field(
        None,
        description="For a duplicate_in_file rejection: the index of the earlier contact in "
        "the batch with the same number.",
    )
    message: str


class BatchOut(Schema):
    received: int
    accepted: int
    already_in_campaign_meanwhile: int
    rejected: list[RejectedRow]
    awaiting_acceptance: bool = Field(
        False,
        description="True when the campaign had started: the accepted contacts are not called "
        "until an outbound administrator accepts the batch (declined, they are removed).",
    )
    replayed: bool = Field(description="True when this key's batch was stored before.")


@api.post(
    "/campaigns/{campaign_id}/contacts",
    response={200: BatchOut, 413: ErrorOut, **ERRORS},
    tags=["contacts"],
)
def contacts_push_endpoint(
    request: HttpRequest,
    campaign_id: int,
    payload: ContactsIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", max_length=100),
):
    """Adds up to 10,000 contacts with the upload's rules (normalised numbers of the allowed
    countries, no premium-rate or special-service numbers, duplicates, do-not-call and red
    lists, deadlines). A row that fails is returned with its reason; the others are stored.
    Once the campaign has started, they wait for an outbound administrator's acceptance.
    The same Idempotency-Key again changes nothing."""
    integration = require_scope(request, Scope.CONTACTS)
    campaign = _or_404(request, campaign_id)
    outcome, replayed = contacts_push(
        integration=integration,
        campaign=campaign,
        key=idempotency_key,
        contacts=[c.dict() for c in payload.contacts],
    )
    rejected = [{**row, "message": rejected_message(row)} for row in outcome["rejected"]]
    return {**outcome, "rejected": rejected, "replayed": replayed}


class ProgressOut(Schema):
    campaign: int
    state: str
    contacts_total: int
    contacts_finished: int
    percent_done: float
    contacts: dict[str, int]
    attempts_total: int
    outcomes: dict[str, int]
    interviews_completed: int


@api.get(
    "/campaigns/{campaign_id}/progress", response={200: ProgressOut, **ERRORS}, tags=["results"]
)
def campaign_progress_read(request: HttpRequest, campaign_id: int):
    require_scope(request, Scope.RESULTS)
    campaign = _or_404(request, campaign_id)
    numbers = campaign_progress(campaign=campaign)
    dialing = getattr(campaign, "dialing", None)
    return {
        "campaign": campaign.pk,
        "state": dialing.state if dialing else "not_started",
        "interviews_completed": campaign.interviews.filter(disposition="completed").count(),
        **{k: numbers[k] for k in ProgressOut.model_fields if k in numbers},
    }


# --- results ---------------------------------------------------------------------------


class ChosenOut(Schema):
    code: int
    label: str
    specify: str | None = None


class AnswerOut(Schema):
    question: str
    type: str
    choices: list[ChosenOut]
    number: str | None
    text: str
    special: str


class ContactOut(Schema):
    id: int
    phone: str = Field(
        description="In E.164; masked (138****8000) unless the token has the phones scope."
    )
    name: str
    attributes: dict[str, Any]


class InterviewOut(Schema):
    id: int
    closed_at: datetime.datetime
    channel: str
    contact: ContactOut
    answers: list[AnswerOut]


class InterviewPage(Schema):
    interviews: list[InterviewOut]
    cursor: str | None = Field(description="Send it back as `cursor` to read what came since.")
    more: bool


@api.get(
    "/campaigns/{campaign_id}/interviews",
    response={200: InterviewPage, **ERRORS},
    tags=["results"],
)
def interviews_read(
    request: HttpRequest,
    campaign_id: int,
    cursor: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
):
    """Completed interviews with their answers (codes and labels), the oldest first, after
    the cursor: keep the returned cursor and send it next time to get everything since."""
    require_scope(request, Scope.RESULTS)
    campaign = _or_404(request, campaign_id)
    try:
        page, next_cursor = completed_page(campaign=campaign, after=cursor, limit=limit)
    except BadCursor as error:
        raise ApiError(
            400, "bad_cursor", _("This cursor is not one Waihu gave."), "cursor"
        ) from error
    if not integration_sees_phones(request.auth):
        for interview in page:
            contact = interview["contact"]
            contact["phone"] = phone_for_integration(request.auth, contact["phone"])
    body = {"interviews": page, "cursor": next_cursor, "more": len(page) == limit}
    # Built to InterviewPage already (a test holds it to the schema): validating thousands
    # of nested answers again would cost more than reading them.
    return HttpResponse(
        api.renderer.render(request, body, response_status=200),
        content_type=api.renderer.media_type,
    )


class TableRowOut(Schema):
    code: str | None
    label: str
    count: int
    percent: float | None
    percent_of_answers: float | None = None


class TableOut(Schema):
    question: str
    text: str
    type: str
    asked: int
    valid: int
    dont_know: int
    refused: int
    rows: list[TableRowOut]


@api.get(
    "/campaigns/{campaign_id}/tables", response={200: list[TableOut], **ERRORS}, tags=["results"]
)
def tables_read(request: HttpRequest, campaign_id: int):
    """The per-question tables of the campaign's completed interviews, as on the results
    page."""
    from reports.results import results_build

    require_scope(request, Scope.RESULTS)
    campaign = _or_404(request, campaign_id)
    if campaign.questionnaire_id is None:
        return []
    results = results_build(campaign=campaign)
    return [
        {
            "question": t.question.code,
            "text": t.question.text,
            "type": t.type,
            "asked": t.asked,
            "valid": t.valid,
            "dont_know": t.dont_know,
            "refused": t.refused,
            "rows": [
                {
                    "code": None if r.code is None else str(r.code),
                    "label": str(r.label),
                    "count": r.count,
                    "percent": r.percent,
                    "percent_of_answers": r.percent_of_answers,
                }
                for r in t.rows
            ],
        }
        for t in results.tables
    ]


# --- do-not-call -----------------------------------------------------------------------


class DoNotCallIn(Schema):
    phone: str
    reason: str = ""
    campaign: int | None = Field(None, description="Only this campaign; empty: everywhere.")


class DoNotCallOut(Schema):
    id: int
    phone: str
    campaign: int | None
    reason: str
    created_at: datetime.datetime


def _dnc_campaign(request, campaign_id: int | None) -> WorkOrder | None:
    return None if campaign_id is None else _or_404(request, campaign_id)


@api.post("/do-not-call", response={201: DoNotCallOut, **ERRORS}, tags=["do-not-call"])
def dnc_create(request: HttpRequest, payload: DoNotCallIn):
    """Puts a number on the do-not-call list (adding one already listed changes nothing)."""
    require_scope(request, Scope.CONTACTS)
    campaign = _dnc_campaign(request, payload.campaign)
    entry = dnc_add(
        phone=payload.phone,
        reason=payload.reason,
        source=DoNotCallEntry.Source.MANUAL,
        campaign=campaign,
    )
    return Status(
        201,
        {
            "id": entry.pk,
            "phone": entry.phone,
            "campaign": entry.campaign_id,
            "reason": entry.reason,
            "created_at": entry.created_at,
        },
    )


class RemovedOut(Schema):
    removed: int


@api.delete("/do-not-call/{phone}", response={200: RemovedOut, **ERRORS}, tags=["do-not-call"])
def dnc_delete(request: HttpRequest, phone: str, campaign: int | None = None):
    """Takes a number off the do-not-call list (the entry is kept as removed)."""
    from outbound.contacts.normalise import normalise_phone

    require_scope(request, Scope.CONTACTS)
    scope = _dnc_campaign(request, campaign)
    normal = normalise_phone(phone)
    if normal is None:
        raise ApiError(400, "invalid_phone", _("Enter a valid phone number."), "phone")
    entries = DoNotCallEntry.objects.active().filter(phone=normal, campaign=scope)
    removed = sum(dnc_remove(entry=entry, user=None) for entry in entries)
    if not removed:
        raise errors.not_found()
    return {"removed": removed}


# --- subscriptions -----------------------------------------------------------------------


class SubscriptionIn(Schema):
    name: str = Field(max_length=100)
    url: str = Field(max_length=500)
    events: list[EventType]


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    active: bool


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Signs the deliveries; shown only now.")


class DeliveryOut(Schema):
    event_id: str
    type: str
    status: str
    attempts: int
    response_code: int | None
    error: str
    created_at: datetime.datetime
    delivered_at: datetime.datetime | None


def _subscription_out(s: Subscription) -> dict:
    return {"id": s.pk, "name": s.name, "url": s.url, "events": s.events, "active": s.active}


@api.get("/subscriptions", response={200: list[SubscriptionOut], **ERRORS}, tags=["events"])
def subscriptions_list(request: HttpRequest):
    integration = require_scope(request, Scope.SUBSCRIPTIONS)
    return [_subscription_out(s) for s in integration.subscriptions.filter(active=True)]


@api.post("/subscriptions", response={201: SubscriptionCreated, **ERRORS}, tags=["events"])
def subscriptions_create(request: HttpRequest, payload: SubscriptionIn):
    """Subscribes a URL to events of the campaigns within reach; the signing secret is
    returned once."""
    integration = require_scope(request, Scope.SUBSCRIPTIONS)
    subscription = subscription_create(
        name=payload.name,
        url=payload.url,
        events=[str(e.value) for e in payload.events],
        integration=integration,
    )
    return Status(201, {**_subscription_out(subscription), "secret": subscription.secret})


def _subscription(request, pk: int) -> Subscription:
    integration = require_scope(request, Scope.SUBSCRIPTIONS)
    subscription = integration.subscriptions.filter(pk=pk, active=True).first()
    if subscription is None:
        raise errors.not_found()
    return subscription


@api.delete("/subscriptions/{subscription_id}", response={204: None, **ERRORS}, tags=["events"])
def subscriptions_delete(request: HttpRequest, subscription_id: int):
    subscription = _subscription(request, subscription_id)
    Subscription.objects.filter(pk=subscription.pk).update(active=False)
    return Status(204, None)


@api.get(
    "/subscriptions/{subscription_id}/deliveries",
    response={200: list[DeliveryOut], **ERRORS},
    tags=["events"],
)
def deliveries_list(request: HttpRequest, subscription_id: int, limit: int = Query(100, le=1000)):
    """The latest deliveries, with the receiver's response code."""
    subscription = _subscription(request, subscription_id)
    rows = Delivery.objects.filter(subscription=subscription).select_related("event")[:limit]
    return [
        {
            "event_id": str(d.event.event_id),
            "type": d.event.type,
            "status": d.status,
            "attempts": d.attempts,
            "response_code": d.response_code,
            "error": d.error,
            "created_at": d.created_at,
            "delivered_at": d.delivered_at,
        }
        for d in rows
    ]
