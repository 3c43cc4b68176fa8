"""Who may hear a call recording: the one rule, and the reads that follow it."""

from collections import defaultdict

from django.db.models import F, Prefetch, QuerySet

from accounts.roles import Role
from outbound.agent.selectors import is_supervisor
from outbound.models import Recording


def hears_every_recording(user) -> bool:
    return bool(
        user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN, Role.ANALYST) or is_supervisor(user)
    )


def recordings_audible_by(*, user) -> QuerySet[Recording]:
    """The recordings `user` may hear, ready to be played. Outbound administrators (who
    supervise the room) and analysts hear every call; an agent hears the calls they made;
    nobody else does, the requester included: a work order gives its requester the
    campaign's figures and answers, not the customers' voices."""
    if not user.is_authenticated:
        return Recording.objects.none()
    ready = Recording.objects.filter(status=Recording.Status.COMPLETED)
    if hears_every_recording(user):
        return ready
    if user.has_role(Role.CALL_AGENT):
        return ready.filter(agent=user)
    return Recording.objects.none()


def audible_prefetch(user) -> Prefetch:
    """Prefetches each attempt's recordings that `user` may hear, as
    `attempt.audible_recordings`."""
    return Prefetch(
        "recordings",
        queryset=recordings_audible_by(user=user).order_by("created_at", "pk"),
        to_attr="audible_recordings",
    )


def audible_by_response(*, user, response_ids) -> dict[int, list[Recording]]:
    """{survey response id: the recordings `user` may hear of the call it was taken in}."""
    found = defaultdict(list)
    recordings = (
        recordings_audible_by(user=user)
        .filter(attempt__interviews__response_id__in=list(response_ids))
        .annotate(response_id=F("attempt__interviews__response_id"))
        .order_by("created_at", "pk")
    )
    for recording in recordings:
        found[recording.response_id].append(recording)
    return found
