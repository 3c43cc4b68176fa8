"""The sandbox's play-out as Celery tasks; countdowns stand for ringing and talking. Each
task runs one step of a call (see steps.py), taken under the call's serial; a task sent
without one (by hand) runs the step the call is at."""

from celery import shared_task

from outbound.dialer.retrying import DatabaseRetryTask
from outbound.models import SandboxCall
from outbound.sandbox import play, steps

FINAL = play.FINAL


def _call(sid: str) -> SandboxCall | None:
    return SandboxCall.objects.filter(sid=sid).first()


def _ended(call: SandboxCall | None) -> bool:
    """Whether the call is over; one whose worker died between its end and the callbacks
    that report it has them posted now."""
    if call is None:
        return True
    if call.status not in FINAL:
        return False
    if not call.end_reported:
        play.report_end(call)
    return True


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def sandbox_dial(sid: str, serial: int | None = None) -> None:
    taken = steps.take(sid, "dial", serial)
    if taken is None:
        return
    call = _call(sid)
    # A silent call is never heard of again (a <Dial>'s silent child plays out, its status
    # callbacks lost); a call canceled while it waited in the queue never rings.
    if _ended(call) or (call.plan == "silent" and not call.parent_call_sid):
        steps.then(sid, taken, "", 0)
        return
    if call.status != "queued":
        # Its worker died while it rang: the far end answers (or not) now.
        steps.then(sid, taken, "connect", 0)
        return
    ring = play.dial(call)
    steps.then(sid, taken, "connect", ring)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def sandbox_connect(sid: str, serial: int | None = None) -> None:
    taken = steps.take(sid, "connect", serial)
    if taken is None:
        return
    call = _call(sid)
    if _ended(call):
        steps.then(sid, taken, "", 0)
        return
    if call.status == "in-progress":
        # Answered, then its worker died halfway through the conversation: the line drops.
        play.finish(call)
        steps.then(sid, taken, "", 0)
        return
    talk = play.connect(call)
    # None: the call has ended, or waits on a <Dial> whose end takes it on.
    steps.then(sid, taken, "hang_up" if talk is not None else "", talk or 0)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def sandbox_hang_up(sid: str, serial: int | None = None) -> None:
    taken = steps.take(sid, "hang_up", serial)
    if taken is None:
        return
    call = _call(sid)
    if not _ended(call):
        play.finish(call)
    steps.then(sid, taken, "", 0)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def sandbox_resume() -> int:
    """Beat's sweep: plays on the calls of workers that died (sandbox only)."""
    return steps.resume()
