from outbound.models.contacts import Contact, ContactImport, DoNotCallEntry, RedListEntry
from outbound.models.workorders import WorkOrder

__all__ = ["Contact", "ContactImport", "DoNotCallEntry", "RedListEntry", "WorkOrder"]
