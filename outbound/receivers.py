from django.dispatch import receiver

from approvals.models import ApprovalRequest
from approvals.signals import request_approved
from outbound.models import WorkOrder


@receiver(request_approved, dispatch_uid="outbound_order_ready")
def order_ready_on_approval(sender, request: ApprovalRequest, **kwargs) -> None:
    if request.subject_type.model_class() is WorkOrder:
        WorkOrder.objects.filter(
            pk=request.subject_id, run_status=WorkOrder.RunStatus.NOT_READY
        ).update(run_status=WorkOrder.RunStatus.READY)
