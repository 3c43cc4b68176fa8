"""A sandbox call's play-out as durable steps: dial (initiated, ringing), connect (the far
end answers or not, the TwiML is followed) and hang up. Each call's next step and the time
it is due are kept on its row, so that when the worker playing a call dies (its countdown
tasks die with it, held unacknowledged by the dead process), the sweep hands the step to
another worker and the call ends as a carrier's would, its callbacks posted.

A step is run by one task only: the one holding the call's current serial. Taking a step
pushes its due time a lease ahead; a step neither taken nor done within
WAIHU_SANDBOX_RESUME_SECONDS of its due time is given a new serial and sent again, and a
late task holding the old serial then finds nothing to do."""

import datetime
import logging

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from outbound import telephony
from outbound.models import SandboxCall

logger = logging.getLogger(__name__)
STEPS = ("dial", "connect", "hang_up")


def _task(step: str):
    from outbound.sandbox import tasks

    return {
        "dial": tasks.sandbox_dial,
        "connect": tasks.sandbox_connect,
        "hang_up": tasks.sandbox_hang_up,
    }[step]


def send(sid: str, step: str, serial: int, delay: float) -> None:
    """Sends the task that runs `step` once its delay has passed."""
    if not settings.WAIHU_SANDBOX_PLAY:
        return
    _task(step).apply_async((sid, serial), countdown=max(0.0, delay))


def take(sid: str, step: str, serial: int | None) -> int | None:
    """Takes the call's `step` for the task holding `serial` (None: whoever holds it now,
    for a step run by hand); returns the serial taken, or None when the step is not this
    task's to run (done already, taken on by another, or the call has ended)."""
    current = SandboxCall.objects.filter(sid=sid, next_step=step).values_list(
        "step_serial", flat=True
    )
    current = current.first()
    if current is None or (serial is not None and serial != current):
        return None
    lease = timezone.now() + datetime.timedelta(seconds=settings.WAIHU_SANDBOX_RESUME_SECONDS)
    taken = SandboxCall.objects.filter(sid=sid, next_step=step, step_serial=current).update(
        next_step_at=lease
    )
    return current if taken else None


def then(sid: str, serial: int, step: str, delay: float) -> None:
    """The step that holds `serial` is done: `step` follows after `delay` seconds (no step:
    nothing is left to play). Nothing follows if the call was taken on by another task
    meanwhile (this one was too slow, and the other plays the call on)."""
    due = timezone.now() + datetime.timedelta(seconds=max(0.0, delay))
    moved = SandboxCall.objects.filter(sid=sid, step_serial=serial).update(
        next_step=step,
        next_step_at=due if step else None,
        step_serial=serial + 1,
    )
    if moved and step:
        send(sid, step, serial + 1, delay)


def first_step(sid: str, delay: float = 0.0) -> None:
    """A call just created (with next_step "dial" due at its start) begins its play-out."""
    serial = SandboxCall.objects.filter(sid=sid).values_list("step_serial", flat=True).first()
    if serial is not None:
        send(sid, "dial", serial, delay)


def resume(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Sends again the steps of calls whose worker died: due (or taken) longer ago than
    WAIHU_SANDBOX_RESUME_SECONDS and still not done. Sandbox only."""
    if not telephony.sandbox_enabled() or not settings.WAIHU_SANDBOX_PLAY:
        return 0
    now = now or timezone.now()
    overdue = now - datetime.timedelta(seconds=settings.WAIHU_SANDBOX_RESUME_SECONDS)
    stuck = list(
        SandboxCall.objects.exclude(next_step="")
        .filter(next_step_at__lte=overdue)
        .order_by("next_step_at")
        .values_list("sid", "next_step", "step_serial")[:limit]
    )
    sent = 0
    for sid, step, serial in stuck:
        moved = SandboxCall.objects.filter(sid=sid, step_serial=serial).update(
            step_serial=F("step_serial") + 1, next_step_at=now
        )
        if moved:
            send(sid, step, serial + 1, 0)
            sent += 1
    if sent:
        logger.info("sandbox: %s calls taken on (their worker died, or is late)", sent)
    return sent
