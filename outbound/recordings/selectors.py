"""Who may hear a call recording: the one rule, and the reads that follow it."""

from collections import defaultdict

from django.db.models import F, Prefetch, QuerySet

from accounts.roles import Role
from outbound.agent.selectors import is_supervisor
from outbound.models import Recording, SpokenAnswer


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


def spoken_answers_audible_by(*, user) -> QuerySet[SpokenAnswer]:
    """The open answers recorded on voice surveys that `user` may hear: by the same rule as
    calls (a voice survey has no agent, so only those who hear every call)."""
    if not user.is_authenticated or not hears_every_recording(user):
        return SpokenAnswer.objects.none()
    return SpokenAnswer.objects.filter(recording_status="completed").exclude(recording_sid="")


def may_hear(*, user, sid: str) -> bool:
    """Whether `user` may hear the recording `sid`: a call's or a spoken answer's."""
    return (
        recordings_audible_by(user=user).filter(sid=sid).exists()
        or spoken_answers_audible_by(user=user).filter(recording_sid=sid).exists()
    )


def spoken_by_response(*, user, question_id: int, response_ids) -> dict[int, SpokenAnswer]:
    """{survey response id: its spoken answer to the question} that `user` may hear."""
    answers = spoken_answers_audible_by(user=user).filter(
        question_id=question_id, interview__response_id__in=list(response_ids)
    )
    return {a.response_id: a for a in answers.annotate(response_id=F("interview__response_id"))}
