"""Call recordings: the carrier's recording status callbacks, checked before anything is
kept.

A callback is signed, but a signature only proves who sent it, not that what it names is
ours to keep. So a recording is kept only when the call it names is the attempt's own call
(or the agent's leg of it), the account is ours, and any address it carries is the
carrier's own address for that recording. Even then the address is not stored: the audio is
always fetched from the carrier by the recording's SID (telephony.recording_media), so
nothing a request brought can become a link on a page."""

import logging
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from outbound import telephony
from outbound.models import CallAttempt, Interview, Recording

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The callback is not one to keep; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def recording_status_url(attempt_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("recordings:callback", args=[attempt_id])


def dial_recording_options(attempt_id: int) -> dict:
    """A <Dial>'s attributes asking for recording status callbacks for the attempt."""
    return {
        "recording_status_callback": recording_status_url(attempt_id),
        "recording_status_callback_event": " ".join(telephony.RECORDING_EVENTS),
        "recording_status_callback_method": "POST",
    }


def is_carrier_address(url: str, sid: str) -> bool:
    """Whether `url` is the carrier's address of our account's recording `sid`."""
    return bool(telephony.RECORDING_SID_RE.fullmatch(sid)) and url == telephony.recording_url(sid)


def vetted_status_params(params):
    """The call's own status callback carries RecordingUrl too when the call is recorded.
    The same rule applies there: an address that is not the carrier's for that recording is
    dropped before anything is kept."""
    url = params.get("RecordingUrl")
    if not url or is_carrier_address(url, params.get("RecordingSid", "")):
        return params
    logger.warning("A status callback's RecordingUrl was not the carrier's: dropped.")
    vetted = params.copy()
    vetted["RecordingUrl"] = ""
    return vetted


def _int_or_none(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def _moment(value: str):
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _check(attempt: CallAttempt, params) -> None:
    if params.get("AccountSid", "") != telephony.account_sid():
        raise Refused(403, "The recording belongs to another account.")
    call_sid = params.get("CallSid", "")
    ours = bool(call_sid) and (
        call_sid == attempt.call_sid
        or Interview.objects.filter(attempt_id=attempt.pk, agent_call_sid=call_sid).exists()
    )
    if not ours:
        raise Refused(403, "The recording is of another call.")
    url = params.get("RecordingUrl", "")
    if url and not is_carrier_address(url, params["RecordingSid"]):
        raise Refused(403, "The recording's address is not the carrier's.")


def recording_record(*, attempt_id: int, params) -> Recording | None:
    """Keeps what a recording status callback reports for the attempt. Returns the
    recording, or None when the attempt is unknown; raises Refused for a callback that
    does not hold. A status only moves forward; a repeated callback changes nothing."""
    sid = params.get("RecordingSid", "")
    status = params.get("RecordingStatus", "")
    if not telephony.RECORDING_SID_RE.fullmatch(sid) or status not in Recording.CALLBACK_STATUSES:
        raise Refused(400, "Not a recording status callback.")
    attempt = CallAttempt.objects.filter(pk=attempt_id).only("pk", "call_sid").first()
    if attempt is None:
        return None
    _check(attempt, params)
    fields = {
        "status": status,
        "duration": _int_or_none(params.get("RecordingDuration")),
        "channels": _int_or_none(params.get("RecordingChannels")),
        "source": params.get("RecordingSource", "")[:40],
        "error_code": params.get("ErrorCode", "")[:10],
        "started_at": _moment(params.get("RecordingStartTime", "")),
    }
    agent_id = (
        Interview.objects.filter(attempt_id=attempt.pk, channel=Interview.Channel.AGENT)
        .values_list("agent_id", flat=True)
        .first()
    )
    with transaction.atomic():
        recording, created = Recording.objects.get_or_create(
            sid=sid,
            defaults={
                **fields,
                "attempt_id": attempt.pk,
                "account_sid": params["AccountSid"],
                "call_sid": params["CallSid"],
                "agent_id": agent_id,
            },
        )
        if created:
            return recording
        if recording.attempt_id != attempt.pk:
            raise Refused(403, "The recording belongs to another attempt.")
        earlier = [name for name, rank in Recording.RANK.items() if rank < Recording.RANK[status]]
        changes = {name: value for name, value in fields.items() if value not in (None, "")}
        Recording.objects.filter(pk=recording.pk, status__in=earlier).update(**changes)
    recording.refresh_from_db()
    return recording
