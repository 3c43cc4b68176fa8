"""Ending a sandbox call through the Calls API (POST .../Calls/<sid>.json with Status), as
Twilio does: "canceled" ends a call that is queued or ringing and leaves one in progress
alone; "completed" ends it either way. A call not yet answered never connected, so it
ends as canceled. Ending a call that waits on a <Dial> ends the dialled call too (canceled
while it rings, completed once answered); the <Dial>'s action is still requested with the
dialled call's result, and its TwiML ignored, since the call it would run on has ended."""

from outbound.models import SandboxCall
from outbound.sandbox import play

UNANSWERED = ("queued", "initiated", "ringing")


def call_end(call: SandboxCall, requested: str) -> SandboxCall:
    """Applies Status=`requested` ("canceled" or "completed") to a live call."""
    if call.status in UNANSWERED:
        play.finish(call, "canceled")
    elif call.status == "in-progress" and requested == "completed":
        _end_dial(call)
        play.finish(call, "completed")
    call.refresh_from_db()
    return call


def _end_dial(parent: SandboxCall) -> None:
    child_sid = (parent.pending_dial or {}).get("child")
    if not child_sid:
        return
    pending = parent.pending_dial
    # Cleared first: the parent does not go on with its TwiML once the child has ended.
    play._set(parent, pending_dial={})
    child = SandboxCall.objects.filter(sid=child_sid).first()
    if child is None:
        return
    if child.status in UNANSWERED:
        play.finish(child, "canceled")
    else:
        play.finish(child, "completed")
    child.refresh_from_db()
    if pending.get("action"):
        result = {
            "DialCallStatus": child.status,
            "DialCallSid": child.sid,
            "DialCallDuration": str(child.duration or 0),
            "DialBridged": "true" if child.start_time is not None else "false",
        }
        play.post_signed(pending["action"], {**play._base_params(parent), **result})
