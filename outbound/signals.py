"""Events other apps react to, each sent after the transaction that caused it commits."""

from django.db import transaction
from django.dispatch import Signal

# An interview was closed with a disposition: `interview_id`.
interview_closed = Signal()
# A campaign's run state changed: `campaign_id`, `old` and `new` (CampaignSettings.State).
campaign_state_changed = Signal()


def interview_closed_send(interview_id: int) -> None:
    transaction.on_commit(
        lambda: interview_closed.send(sender=None, interview_id=interview_id), robust=True
    )


def campaign_state_changed_send(campaign_id: int, old: str, new: str) -> None:
    transaction.on_commit(
        lambda: campaign_state_changed.send(sender=None, campaign_id=campaign_id, old=old, new=new),
        robust=True,
    )
