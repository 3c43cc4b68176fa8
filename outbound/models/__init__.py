from outbound.models.agents import (
    AgentSession,
    AgentState,
    AgentStateChange,
    PauseReason,
    ScriptReading,
)
from outbound.models.calls import (
    AccountPacing,
    CallAttempt,
    CallEvent,
    CampaignCount,
    CampaignSettings,
    DialState,
    Outcome,
    SandboxCall,
    SandboxCallQueue,
)
from outbound.models.contacts import (
    Contact,
    ContactHold,
    ContactImport,
    DoNotCallEntry,
    RedListEntry,
)
from outbound.models.interviews import Interview, SpokenAnswer
from outbound.models.recordings import Recording
from outbound.models.workorders import WorkOrder

__all__ = [
    "AccountPacing",
    "AgentSession",
    "AgentState",
    "AgentStateChange",
    "CallAttempt",
    "CallEvent",
    "CampaignCount",
    "CampaignSettings",
    "Contact",
    "ContactHold",
    "ContactImport",
    "DialState",
    "DoNotCallEntry",
    "Interview",
    "Outcome",
    "PauseReason",
    "Recording",
    "RedListEntry",
    "SandboxCall",
    "SandboxCallQueue",
    "ScriptReading",
    "SpokenAnswer",
    "WorkOrder",
]
