"""The events the other apps announce, turned into outgoing events."""

from django.dispatch import receiver

from api.events import event_publish
from api.models import EventType
from api.results import dissatisfied_answers, interviews_payload
from approvals.models import ApprovalRequest
from approvals.signals import request_approved, request_rejected, request_returned
from outbound.models import CampaignSettings, Interview, WorkOrder
from outbound.signals import campaign_state_changed, interview_closed


def _order_event(request: ApprovalRequest, type: str) -> None:
    if request.subject_type.model_class() is not WorkOrder:
        return
    order = WorkOrder.objects.filter(pk=request.subject_id).first()
    if order is None:
        return

    def data() -> dict:
        last = request.decisions.order_by("-created_at", "-pk").first()
        return {
            "order": order.pk,
            "title": order.title,
            "status": request.status,
            "comment": last.comment if last else "",
            "step": last.step_name if last else "",
        }

    event_publish(type=type, data=data, campaign=order)


@receiver(request_approved, dispatch_uid="api_order_approved")
def order_approved(sender, request, **kwargs) -> None:
    _order_event(request, EventType.ORDER_APPROVED)


@receiver(request_returned, dispatch_uid="api_order_returned")
def order_returned(sender, request, **kwargs) -> None:
    _order_event(request, EventType.ORDER_RETURNED)


@receiver(request_rejected, dispatch_uid="api_order_rejected")
def order_rejected(sender, request, **kwargs) -> None:
    _order_event(request, EventType.ORDER_REJECTED)


@receiver(campaign_state_changed, dispatch_uid="api_campaign_state")
def campaign_state(sender, campaign_id: int, old: str, new: str, **kwargs) -> None:
    State = CampaignSettings.State
    if new == State.RUNNING and old == State.NOT_STARTED:
        type = EventType.CAMPAIGN_STARTED
    elif new == State.STOPPED:
        type = EventType.CAMPAIGN_FINISHED
    else:
        return
    campaign = WorkOrder.objects.get(pk=campaign_id)
    event_publish(type=type, data={"campaign": campaign_id, "state": new}, campaign=campaign)


@receiver(interview_closed, dispatch_uid="api_interview_closed")
def interview_done(sender, interview_id: int, **kwargs) -> None:
    interview = Interview.objects.select_related("campaign", "contact").get(pk=interview_id)
    campaign = interview.campaign
    contact = {
        "id": interview.contact_id,
        "phone": interview.contact.phone,
        "name": interview.contact.name,
        "attributes": interview.contact.attributes or {},
    }
    if interview.disposition == Interview.Disposition.DO_NOT_CALL:
        event_publish(
            type=EventType.CONTACT_OPTED_OUT,
            data={"campaign": campaign.pk, "interview": interview.pk, "contact": contact},
            campaign=campaign,
        )
        return
    if interview.disposition != Interview.Disposition.COMPLETED:
        return

    def completed() -> dict:
        row = {
            "pk": interview.pk,
            "closed_at": interview.closed_at,
            "channel": interview.channel,
            "response_id": interview.response_id,
            "contact_id": interview.contact_id,
            "contact__phone": contact["phone"],
            "contact__name": contact["name"],
            "contact__attributes": contact["attributes"],
        }
        return {"campaign": campaign.pk, "interview": interviews_payload([row])[0]}

    event_publish(type=EventType.INTERVIEW_COMPLETED, data=completed, campaign=campaign)
    unhappy = dissatisfied_answers(response_id=interview.response_id)
    if unhappy:
        event_publish(
            type=EventType.DISSATISFACTION,
            data={
                "campaign": campaign.pk,
                "interview": interview.pk,
                "contact": contact,
                "answers": unhappy,
            },
            campaign=campaign,
        )
