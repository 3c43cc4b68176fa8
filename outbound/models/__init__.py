from outbound.models.workorders import WorkOrder

__all__ = ["WorkOrder"]
