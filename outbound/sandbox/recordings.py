"""Recordings in the sandbox, kept as Twilio keeps them: a recorded call that completes
posts a signed recording status callback to the address its Calls.json request gave, and
the audio is served behind the account's credentials at
/sandbox/2010-04-01/Accounts/<account>/Recordings/<RE…>, as WAV (no extension or .wav) or
MP3 (.mp3). A second of silence stands for every sandbox recording. A recording deleted
through the API (Recordings/<RE…>.json) is gone from then on."""

import io
import re
import wave

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from outbound import telephony
from outbound.models import SandboxCall
from outbound.sandbox import play
from outbound.sandbox.views import API_VERSION, sandbox_endpoint, twilio_error

CONTENT_TYPES = {"wav": "audio/x-wav", "mp3": "audio/mpeg"}
_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def recording_sid(call: SandboxCall) -> str:
    return "RE" + call.sid[2:]


def recording_url(call: SandboxCall) -> str:
    return (
        f"{telephony.sandbox_api_url()}/{API_VERSION}/Accounts/{call.account_sid}"
        f"/Recordings/{recording_sid(call)}"
    )


def status_callback_extra(call: SandboxCall, duration: int) -> dict[str, str]:
    """What the call's final status callback says of its recording (Twilio sends the
    recording's address to the status callback of a call placed with Record=true)."""
    return {
        "RecordingUrl": recording_url(call),
        "RecordingSid": recording_sid(call),
        "RecordingDuration": str(_recorded_seconds(duration)),
    }


def _recorded_seconds(duration: int | None) -> int:
    # The audio served is a second long, whatever the call's length.
    return max(1, duration or 0)


def requested_events(call: SandboxCall) -> list[str]:
    """The recording events the call asked for: repeated parameters or space-separated, as
    Twilio takes both; "completed" when none was named."""
    asked = call.recording_status_callback_events or []
    return [event for value in asked for event in value.split()] or ["completed"]


def recording_callback(call: SandboxCall, status: str = "completed") -> None:
    """Posts the recording status callback the call asked for, signed as Twilio signs it."""
    if not call.record or not call.recording_status_callback:
        return
    if status not in requested_events(call):
        return
    params = {
        "AccountSid": call.account_sid,
        "CallSid": call.sid,
        "RecordingSid": recording_sid(call),
        "RecordingUrl": recording_url(call),
        "RecordingStatus": status,
        "RecordingChannels": "1",
        "RecordingSource": "OutboundAPI",
        "RecordingTrack": "both",
        "RecordingStartTime": play.rfc2822(call.start_time or timezone.now()),
    }
    if status == "completed":
        params["RecordingDuration"] = str(_recorded_seconds(call.duration))
    play.post_signed(call.recording_status_callback, params)


# --- the audio ----------------------------------------------------------------------------


def silent_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(8000)
        sound.writeframes(b"\x80" * 8000)
    return buffer.getvalue()


def silent_mp3() -> bytes:
    """A second of silence as MPEG-1 Layer III, built without an encoder: 28 frames of
    32 kbit/s mono at 32 kHz (144 bytes and 36 ms each) whose side information is all
    zeros, so every granule decodes to silence."""
    header = bytes([0xFF, 0xFB, 0x18, 0xC4])
    frame = header + bytes(144 - len(header))
    return frame * 28


def _sliced(body: bytes, header: str) -> tuple[int, bytes, str] | None:
    """(status, body, Content-Range) for a single byte range; None when it cannot be met."""
    match = _RANGE_RE.fullmatch(header.strip())
    if match is None or match.groups() == ("", ""):
        return 200, body, ""
    first, last = match.groups()
    size = len(body)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return None
    return 206, body[start : end + 1], f"bytes {start}-{end}/{size}"


def _recorded_call(account_sid: str, sid: str) -> SandboxCall | None:
    """The call a recording belongs to: a recorded call (the SIDs share their digits), or
    an answered call on which a <Record> made it (its SID begins with the call's). None
    once the recording has been deleted."""
    whole = SandboxCall.objects.filter(
        sid="CA" + sid[2:], account_sid=account_sid, record=True, status="completed"
    ).first()
    if whole is None:
        whole = (
            SandboxCall.objects.filter(
                sid__startswith="CA" + sid[2:26], account_sid=account_sid, start_time__isnull=False
            )
            .exclude(sid="CA" + sid[2:])
            .first()
        )
    if whole is None or sid in (whole.deleted_recordings or []):
        return None
    return whole


def _not_found(account_sid: str, sid: str):
    return twilio_error(
        404,
        20404,
        f"The requested resource /{API_VERSION}/Accounts/{account_sid}/Recordings/{sid} was not "
        "found",
    )


@sandbox_endpoint
@require_http_methods(["GET", "DELETE"])
def recording_resource(request, account_sid: str, sid: str):
    """The recording's resource (Recordings/<RE…>.json): read, or deleted as Twilio deletes
    it (204, and from then on 404 for the resource and its audio)."""
    call = _recorded_call(account_sid, sid)
    if call is None:
        return _not_found(account_sid, sid)
    if request.method == "DELETE":
        with transaction.atomic():
            call = SandboxCall.objects.select_for_update().get(pk=call.pk)
            call.deleted_recordings = [*(call.deleted_recordings or []), sid]
            call.save(update_fields=["deleted_recordings"])
        return HttpResponse(status=204)
    return JsonResponse(
        {
            "sid": sid,
            "account_sid": account_sid,
            "call_sid": call.sid,
            "status": "completed",
            "duration": str(_recorded_seconds(call.duration)),
            "channels": 1,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}.json",
        }
    )


@sandbox_endpoint
@require_http_methods(["GET", "HEAD"])
def recording_media(request, account_sid: str, sid: str, format: str | None = None):
    if _recorded_call(account_sid, sid) is None:
        return _not_found(account_sid, sid)
    format = format or "wav"
    body = silent_mp3() if format == "mp3" else silent_wav()
    sliced = _sliced(body, request.headers.get("Range", ""))
    if sliced is None:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{len(body)}"
        return response
    status, part, content_range = sliced
    response = HttpResponse(part, status=status, content_type=CONTENT_TYPES[format])
    response["Accept-Ranges"] = "bytes"
    if content_range:
        response["Content-Range"] = content_range
    return response
