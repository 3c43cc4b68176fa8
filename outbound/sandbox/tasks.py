"""The sandbox's play-out as Celery tasks; countdowns stand for ringing and talking. Each
task runs one step of a call (see steps.py), taken under the call's serial; a task sent
without one (by hand) runs the step the call is at."""

from celery import shared_task

from outbound.dialer.retrying import DatabaseRetryTask
from outbound.models import SandboxCall
from outbound.sandbox import play, steps

FINAL = ("completed", "busy", "no-answer", "failed", "canceled")


def _call(sid: str) -> SandboxCall | None:
    return SandboxCall.objects.filter(sid=sid).first()


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def sandbox_dial(sid: str, serial: int | None = None) -> None:
    taken = steps.take(sid, "dial", serial)
    if taken is None:
        return
    call = _call(sid)
    # A silent call is never heard of again (a <Dial>'s silent child plays out, its status
    # callbacks lost); a call canceled while it waited in the queue never rings.
    if call is None or (call.plan == "silent" and not call.parent_call_sid) or call.status in FINAL:
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
    if call is None or call.status in FINAL:
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
    if call is not None:
        play.finish(call)
    steps.then(sid, taken, "", 0)


@shared_task(base=DatabaseRetryTask, ignore_result=True)
def sandbox_resume() -> int:
    """Beat's sweep: plays on the calls of workers that died (sandbox only)."""
    return steps.resume()
