from outbound.models.calls import (
    AccountPacing,
    CallAttempt,
    CallEvent,
    CampaignSettings,
    DialState,
    Outcome,
    SandboxCall,
    SandboxCallQueue,
)
from outbound.models.contacts import Contact, ContactImport, DoNotCallEntry, RedListEntry
from outbound.models.interviews import Interview, SpokenAnswer
from outbound.models.recordings import Recording
from outbound.models.workorders import WorkOrder

__all__ = [
    "AccountPacing",
    "CallAttempt",
    "CallEvent",
    "CampaignSettings",
    "Contact",
    "ContactImport",
    "DialState",
    "DoNotCallEntry",
    "Interview",
    "Outcome",
    "Recording",
    "RedListEntry",
    "SandboxCall",
    "SandboxCallQueue",
    "SpokenAnswer",
    "WorkOrder",
]
