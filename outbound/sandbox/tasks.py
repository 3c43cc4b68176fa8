"""The sandbox's play-out as Celery tasks; countdowns stand for ringing and talking."""

from celery import shared_task

from outbound.models import SandboxCall
from outbound.sandbox import play

FINAL = ("completed", "busy", "no-answer", "failed", "canceled")


def _call(sid: str) -> SandboxCall | None:
    return SandboxCall.objects.filter(sid=sid).first()


@shared_task(ignore_result=True)
def sandbox_dial(sid: str) -> None:
    call = _call(sid)
    # A silent call is never heard of again (a <Dial>'s silent child plays out, its status
    # callbacks lost); a call canceled while it waited in the queue never rings.
    if (
        call is None
        or (call.plan == "silent" and not call.parent_call_sid)
        or call.status != "queued"
    ):
        return
    ring = play.dial(call)
    sandbox_connect.apply_async((sid,), countdown=ring)


@shared_task(ignore_result=True)
def sandbox_connect(sid: str) -> None:
    call = _call(sid)
    if call is None or call.status in FINAL:
        return
    talk = play.connect(call)
    if talk is not None:
        sandbox_hang_up.apply_async((sid,), countdown=talk)


@shared_task(ignore_result=True)
def sandbox_hang_up(sid: str) -> None:
    call = _call(sid)
    if call is not None:
        play.finish(call)
