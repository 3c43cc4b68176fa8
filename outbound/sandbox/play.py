"""Playing a sandbox call out: ringing, then busy, no answer, failed, or answered by a person
or a machine; the call's TwiML fetched and its <Gather>s answered as a respondent would;
status callbacks posted and signed exactly as Twilio signs them."""

import datetime
import logging
import random
import re
import time
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from outbound import telephony
from outbound.models import SandboxCall

logger = logging.getLogger(__name__)
API_VERSION = "2010-04-01"
MAX_DOCUMENTS = 30
EVENTS = ("initiated", "ringing", "answered", "completed")
SIP_CODES = {"busy": "486", "no-answer": "487", "failed": "500", "completed": "200"}
_session = requests.Session()


def rfc2822(moment: datetime.datetime | None) -> str | None:
    return format_datetime(moment.astimezone(datetime.UTC), usegmt=True) if moment else None


def shares() -> dict[str, float]:
    return dict(settings.WAIHU_SANDBOX_SHARES)


def _between(bounds: tuple[float, float]) -> float:
    return random.uniform(*bounds)


def begin(sid: str) -> None:
    """Starts the play-out of a call just accepted (the tasks do the rest)."""
    if not settings.WAIHU_SANDBOX_PLAY:
        return
    from outbound.sandbox import tasks

    tasks.sandbox_dial.delay(sid)


def _refuse_outside_sandbox() -> None:
    if not telephony.is_sandbox():
        raise RuntimeError("The sandbox does not run while Twilio credentials are set.")


def _base_params(call: SandboxCall) -> dict[str, str]:
    return {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": call.status,
        "Called": call.to,
        "Caller": call.from_number,
        "Direction": "outbound-api",
        "From": call.from_number,
        "To": call.to,
    }


def post_signed(url: str, params: dict[str, str], *, tries: int = 3) -> requests.Response | None:
    """POSTs form parameters with the X-Twilio-Signature Twilio would compute."""
    headers = {"X-Twilio-Signature": telephony.sign(url, params)}
    for attempt in range(tries):
        try:
            response = _session.post(url, data=params, headers=headers, timeout=15)
        except requests.RequestException as error:
            logger.warning("sandbox: %s unreachable (%s)", url, error)
        else:
            if response.status_code < 500:
                return response
            logger.warning("sandbox: %s answered %s", url, response.status_code)
        time.sleep(0.2 * (attempt + 1))
    return None


def callback(call: SandboxCall, event: str, extra: dict[str, str] | None = None) -> None:
    """Posts a status callback for `event` if the call asked for it."""
    if not call.status_callback or event not in call.status_callback_events:
        return
    # Numbered in the order the call's events happen, counting those asked for.
    sequence = [e for e in EVENTS if e in call.status_callback_events].index(event)
    params = _base_params(call)
    params.update(
        {
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
            "Timestamp": rfc2822(timezone.now()),
            **(extra or {}),
        }
    )
    post_signed(call.status_callback, params)


def _set(call: SandboxCall, **fields) -> None:
    for name, value in fields.items():
        setattr(call, name, value)
    SandboxCall.objects.filter(pk=call.pk).update(**fields, date_updated=timezone.now())


def dial(call: SandboxCall) -> float:
    """Initiated and ringing; returns how long the phone rings."""
    _refuse_outside_sandbox()
    # Only the statuses a fetch can observe for long are stored.
    call.status = "initiated"
    callback(call, "initiated")
    if call.plan == "failed":
        return 0.0
    _set(call, status="ringing")
    callback(call, "ringing")
    ring = _between(settings.WAIHU_SANDBOX_RING_SECONDS)
    return (
        min(ring, float(call.timeout))
        if call.plan != "no_answer"
        else min(max(ring, settings.WAIHU_SANDBOX_RING_SECONDS[1]), float(call.timeout))
    )


def connect(call: SandboxCall) -> float | None:
    """The far end's answer. Returns the talk time when answered, None when the call ended."""
    _refuse_outside_sandbox()
    final = {"busy": "busy", "no_answer": "no-answer", "failed": "failed"}.get(call.plan)
    if final:
        finish(call, final)
        return None
    answered_by = ""
    if call.machine_detection:
        answered_by = "machine_start" if call.plan == "machine" else "human"
    _set(call, status="in-progress", start_time=timezone.now(), answered_by=answered_by)
    callback(call, "answered", {"AnsweredBy": answered_by} if answered_by else None)
    if call.plan == "answered":
        converse(call)
    talk = _between(settings.WAIHU_SANDBOX_TALK_SECONDS)
    return talk / 3 if call.plan == "machine" else talk


def finish(call: SandboxCall, status: str = "completed") -> None:
    _refuse_outside_sandbox()
    if call.status in ("completed", "busy", "no-answer", "failed", "canceled"):
        return
    now = timezone.now()
    duration = round((now - call.start_time).total_seconds()) if call.start_time else 0
    _set(call, status=status, end_time=now, duration=duration)
    extra = {
        "CallDuration": str(duration),
        "Duration": str(max(1, -(-duration // 60)) if duration else 0),
        "SipResponseCode": SIP_CODES.get(status, "200"),
    }
    if call.answered_by:
        extra["AnsweredBy"] = call.answered_by
    recorded = call.record and status == "completed"
    # Imported here: the recordings module imports this one.
    from outbound.sandbox import recordings

    if recorded:
        extra.update(recordings.status_callback_extra(call, duration))
    callback(call, "completed", extra)
    if recorded:
        recordings.recording_callback(call)


# --- the respondent ------------------------------------------------------------------

_DIGIT_RE = re.compile(r"\d")


def choose_digits(gather: ET.Element) -> str:
    """A respondent's key press: one of the digits the prompt offers (its `hints`, or the
    digits its <Say>s mention), else any digit."""
    offered = [d for d in re.split(r"[\s,]+", gather.get("hints", "")) if d.isdigit()]
    if not offered:
        spoken = " ".join(say.text or "" for say in gather.iter("Say"))
        offered = sorted(set(_DIGIT_RE.findall(spoken)))
    if not offered:
        offered = list("123456789")
    choice = random.choice(offered)
    length = int(gather.get("numDigits", "0") or 0)
    return choice if length <= 1 else choice[:length].ljust(length, choice[-1])


def _is_opt_out(gather: ET.Element) -> bool:
    return urlsplit(gather.get("action") or "").path.rstrip("/").endswith("/opt-out")


def next_request(root: ET.Element, url: str) -> tuple[str, dict[str, str]] | None:
    """What the respondent's phone does with a TwiML document: the next URL to request and
    the extra parameters, or None when the call ends here. The offer to be called no more
    is taken by WAIHU_SANDBOX_OPT_OUT_PERCENT of respondents; the others let it pass."""
    for verb in root:
        if verb.tag == "Gather" and _is_opt_out(verb):
            if random.uniform(0, 100) < settings.WAIHU_SANDBOX_OPT_OUT_PERCENT:
                return verb.get("action") or url, {"Digits": choose_digits(verb)}
            continue
        if verb.tag == "Gather":
            return verb.get("action") or url, {"Digits": choose_digits(verb)}
        if verb.tag == "Redirect" and (verb.text or "").strip():
            return verb.text.strip(), {}
        if verb.tag in ("Hangup", "Reject"):
            return None
    return None


def converse(call: SandboxCall) -> None:
    """Fetches the call's TwiML and follows it until it hangs up or ends."""
    url, extra = call.url, {}
    digits = []
    for _step in range(MAX_DOCUMENTS):
        if not url:
            break
        params = {**_base_params(call), **extra}
        response = post_signed(url, params)
        if response is None or response.status_code != 200:
            break
        try:
            root = ET.fromstring(response.content)  # noqa: S314
        except ET.ParseError:
            break
        step = next_request(root, url)
        if step is None:
            break
        url, extra = step
        if "Digits" in extra:
            digits.append(extra["Digits"])
    if digits:
        _set(call, digits=",".join(digits)[:100])
