"""Playing a sandbox call out: ringing, then busy, no answer, failed, or answered by a person
or a machine; the call's TwiML fetched (with AnsweredBy when detection was asked for) and
followed: <Gather>s answered as a respondent would, a <Dial><Number> placed as a child call
and bridged until it ends; status callbacks posted and signed exactly as Twilio signs them."""

import datetime
import logging
import random
import re
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import format_datetime
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from outbound import telephony
from outbound.models import SandboxCall
from outbound.sandbox.numbers import ERROR_NUMBERS, OUTCOME_NUMBERS
from outbound.voice import voices

logger = logging.getLogger(__name__)
API_VERSION = "2010-04-01"
MAX_DOCUMENTS = 30
EVENTS = ("initiated", "ringing", "answered", "completed")
SIP_CODES = {
    "busy": "486",
    "no-answer": "487",
    "failed": "500",
    "completed": "200",
    "canceled": "487",
}
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
# <Dial>'s own default, in seconds, for how long the dialled number may ring.
DIAL_TIMEOUT = 30
_session = requests.Session()


def rfc2822(moment: datetime.datetime | None) -> str | None:
    return format_datetime(moment.astimezone(datetime.UTC), usegmt=True) if moment else None


def shares() -> dict[str, float]:
    return dict(settings.WAIHU_SANDBOX_SHARES)


def plan_for(to: str) -> str:
    """How a call to `to` turns out: as its special number says, else drawn by the shares."""
    if to in OUTCOME_NUMBERS:
        return OUTCOME_NUMBERS[to]
    weights = shares()
    outcomes = [name for name, share in weights.items() if share > 0]
    return random.choices(outcomes, weights=[weights[name] for name in outcomes])[0]


def dialable(to: str) -> bool:
    """Whether the carrier would place a call to `to` at all."""
    return (
        to not in ERROR_NUMBERS and to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16
    )


def _between(bounds: tuple[float, float]) -> float:
    return random.uniform(*bounds)


def begin(sid: str, wait: float = 0.0) -> None:
    """Starts the play-out of a call just accepted, once `wait` seconds have passed (the
    tasks do the rest). The call was created with its first step, due then, so a worker
    dying before it begins leaves it to the sweep, not lost."""
    if not settings.WAIHU_SANDBOX_PLAY:
        return
    from outbound.sandbox import steps

    steps.first_step(sid, wait)


def first_step_fields(due: datetime.datetime | None = None) -> dict:
    """A new call's fields naming its first step, dialling, due at `due` (now)."""
    return {"next_step": "dial", "next_step_at": due or timezone.now(), "step_serial": 1}


def _refuse_outside_sandbox() -> None:
    if not telephony.sandbox_enabled():
        raise RuntimeError("The sandbox does not run while Twilio credentials are set.")


def _base_params(call: SandboxCall) -> dict[str, str]:
    params = {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": call.status,
        "Called": call.to,
        "Caller": call.from_number,
        "Direction": call.direction or "outbound-api",
        "From": call.from_number,
        "To": call.to,
    }
    if call.parent_call_sid:
        params["ParentCallSid"] = call.parent_call_sid
    return params


def post_signed(url: str, params: dict[str, str], *, tries: int = 3) -> requests.Response | None:
    """POSTs form parameters with the X-Twilio-Signature Twilio would compute, to one of
    Waihu's own addresses only."""
    if not telephony.is_own_url(url):
        logger.warning("sandbox: %s is not one of Waihu's addresses: not requested", url)
        return None
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
    """Posts a status callback for `event` if the call asked for it. SequenceNumber counts
    the callbacks sent for this call, from 0."""
    if not call.status_callback or event not in call.status_callback_events:
        return
    if call.plan == "silent":  # a <Dial>'s child whose callbacks are lost
        return
    sequence = call.sequence
    _set(call, sequence=sequence + 1)
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
    if call.status in FINAL:  # canceled through the Calls API before it was dialled
        return 0.0
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


def detected(call: SandboxCall) -> str:
    """What answering machine detection reports, if the call asked for it. Asked to wait for
    the end of the message, it reports a machine once its greeting has ended (the beep)."""
    if not call.machine_detection:
        return ""
    if call.plan != "machine":
        return "human"
    return "machine_end_beep" if call.machine_detection == "DetectMessageEnd" else "machine_start"


def connect(call: SandboxCall) -> float | None:
    """The far end's answer. Returns the talk time when answered, None when the call ended
    or waits on a <Dial> (whose end takes it on)."""
    _refuse_outside_sandbox()
    if call.status in FINAL:  # hung up through the Calls API while it rang
        return None
    final = {"busy": "busy", "no_answer": "no-answer", "failed": "failed"}.get(call.plan)
    if final:
        finish(call, final)
        return None
    answered_by = detected(call)
    _set(call, status="in-progress", start_time=timezone.now(), answered_by=answered_by)
    # The answer is reported at once; detection's result comes with the TwiML request.
    callback(call, "answered")
    extra = {}
    if answered_by:
        extra = {
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": str(random.randint(1200, 4500)),
        }
    talk = _between(settings.WAIHU_SANDBOX_TALK_SECONDS)
    talk = talk / 3 if call.plan == "machine" else talk
    if call.parent_call_sid:
        # A <Dial>'s child: its <Number url> runs on the called party before the bridge.
        if call.url:
            converse(call, call.url, extra, may_dial=False)
        return talk
    if converse(call, call.url, extra):
        return None
    return talk


def finish(call: SandboxCall, status: str = "completed") -> None:
    _refuse_outside_sandbox()
    if call.status in FINAL:
        return
    now = timezone.now()
    duration = round((now - call.start_time).total_seconds()) if call.start_time else 0
    # Once: a hang-up through the Calls API and the end of the talk may meet.
    ended = (
        SandboxCall.objects.filter(pk=call.pk)
        .exclude(status__in=FINAL)
        .update(status=status, end_time=now, duration=duration, date_updated=now)
    )
    if not ended:
        return
    call.status, call.end_time, call.duration = status, now, duration
    report_end(call)


def report_end(call: SandboxCall) -> None:
    """Posts what follows a call's end: its final status callback, its recording's, and
    the <Dial>'s parent going on. Sent again by the step that finds a call ended whose
    worker died before this was done (a repeated callback changes nothing at Waihu)."""
    status, duration = call.status, call.duration or 0
    extra = {
        "CallDuration": str(duration),
        "Duration": str(max(1, -(-duration // 60)) if duration else 0),
        "SipResponseCode": SIP_CODES.get(status, "200"),
    }
    if call.answered_by:
        extra["AnsweredBy"] = call.answered_by
    if call.error_code:
        extra["ErrorCode"] = call.error_code
    recorded = call.record and status == "completed"
    # Imported here: the recordings module imports this one.
    from outbound.sandbox import recordings

    if recorded:
        extra.update(recordings.status_callback_extra(call, duration))
    callback(call, "completed", extra)
    if recorded:
        recordings.recording_callback(call)
    if call.parent_call_sid:
        dial_ended(call)
    _set(call, end_reported=True)


# --- the respondent ------------------------------------------------------------------

_DIGIT_RE = re.compile(r"\d")


def choose_digits(gather: ET.Element) -> str:
    """A respondent's key press: one of the digits the prompt offers (its `hints`, or the
    digits its <Say>s mention), else any digit."""
    offered = [d for d in re.split(r"[\s,]+", gather.get("hints", "")) if d.isdigit()]
    if not offered:
        spoken = " ".join("".join(say.itertext()) for say in gather.iter("Say"))
        offered = sorted(set(_DIGIT_RE.findall(spoken)))
    if not offered:
        offered = list("123456789")
    choice = random.choice(offered)
    length = int(gather.get("numDigits", "0") or 0)
    return choice if length <= 1 else choice[:length].ljust(length, choice[-1])


def _is_opt_out(gather: ET.Element) -> bool:
    return urlsplit(gather.get("action") or "").path.rstrip("/").endswith("/opt-out")


@dataclass(frozen=True)
class DialStep:
    """A <Dial> reached in a document, with the verbs that follow it."""

    verb: ET.Element
    rest: list[ET.Element]


def next_request(
    root: ET.Element, url: str, *, person: bool = True, call: SandboxCall | None = None
) -> tuple[str, dict[str, str]] | DialStep | None:
    """What the respondent's phone does with a TwiML document: the next URL to request and
    the extra parameters, a <Dial> to place, or None when the call ends here. The offer to
    be called no more is taken by WAIHU_SANDBOX_OPT_OUT_PERCENT of respondents; the others
    let it pass. A machine presses no key: each <Gather> times out and the next verb runs."""
    verbs = list(root)
    for index, verb in enumerate(verbs):
        if verb.tag == "Gather" and not person:
            continue
        if verb.tag == "Record" and person:
            return _answer_record(verb, url, call)
        if verb.tag == "Gather" and "speech" in (verb.get("input") or ""):
            return verb.get("action") or url, _answer_speech(verb)
        if verb.tag == "Gather" and _is_opt_out(verb):
            if random.uniform(0, 100) < settings.WAIHU_SANDBOX_OPT_OUT_PERCENT:
                return verb.get("action") or url, {"Digits": choose_digits(verb)}
            continue
        if verb.tag == "Gather":
            return verb.get("action") or url, {"Digits": choose_digits(verb)}
        if verb.tag == "Redirect" and (verb.text or "").strip():
            return verb.text.strip(), {}
        if verb.tag == "Dial":
            return DialStep(verb, verbs[index + 1 :])
        if verb.tag in ("Hangup", "Reject"):
            return None
    return None


SPOKEN_ANSWERS = {
    "zh": ("希望营业厅能延长营业时间。", "信号比以前好多了，谢谢。", "客服热线等的时间有点长。"),
    "en": (
        "Please keep the shops open longer.",
        "The signal is much better now, thank you.",
        "The hotline wait was a bit long.",
    ),
}


def _answer_speech(gather: ET.Element) -> dict[str, str]:
    """A respondent's words to a <Gather input="speech">, as Twilio posts them: the
    recognised SpeechResult, in the language the <Gather> listens for, and its Confidence."""
    language = (gather.get("language") or "en-US").lower()
    sentences = SPOKEN_ANSWERS["zh" if language.startswith(("cmn", "zh")) else "en"]
    return {
        "SpeechResult": random.choice(sentences),
        "Confidence": f"{random.uniform(0.8, 0.98):.4f}",
    }


def _answer_record(
    record: ET.Element, url: str, call: SandboxCall | None
) -> tuple[str, dict[str, str]]:
    """A respondent speaks after the beep of a <Record> and ends with its finish key (or
    hangs up where there is none). As Twilio does, the recording status callback reports
    the recording (the sandbox sends it first) and the action gets RecordingUrl,
    RecordingSid, RecordingDuration and Digits; the address serves the sandbox's audio."""
    account = call.account_sid if call else telephony.account_sid()
    call_sid = call.sid if call else "CA" + "0" * 32
    sid = "RE" + call_sid[2:26] + secrets.token_hex(4)
    longest = int(record.get("maxLength") or 3600)
    duration = str(random.randint(1, max(1, min(longest, 20))))
    recording_url = (
        f"{telephony.sandbox_api_url()}/{API_VERSION}/Accounts/{account}/Recordings/{sid}"
    )
    finish_keys = record.get("finishOnKey", "1234567890*#")
    params = {
        "RecordingUrl": recording_url,
        "RecordingSid": sid,
        "RecordingDuration": duration,
        "Digits": "#" if "#" in finish_keys else (finish_keys[:1] or "hangup"),
    }
    status_callback = record.get("recordingStatusCallback")
    if status_callback and call is not None:
        post_signed(
            status_callback,
            {
                "AccountSid": account,
                "CallSid": call_sid,
                "RecordingSid": sid,
                "RecordingUrl": recording_url,
                "RecordingStatus": "completed",
                "RecordingDuration": duration,
                "RecordingChannels": "1",
                "RecordingSource": "RecordVerb",
            },
        )
    return record.get("action") or url, params


# Twilio's warning for a <Say> voice it cannot use ("Say: Invalid voice value",
# https://www.twilio.com/docs/api/errors/13511). Its <Say> page warns that "an invalid
# combination of voice and language may result in error and <Say> instruction failure".
SAY_INVALID_VOICE = "13511"


def say_error(root: ET.Element) -> str | None:
    """The error Twilio reports for a document whose <Say> names a voice and a language
    that do not go together (from Waihu's table of Twilio's voices), else None."""
    for say in root.iter("Say"):
        if not voices.pair_is_valid(say.get("voice"), say.get("language")):
            logger.warning(
                "sandbox: <Say voice=%r language=%r> is not a voice Twilio offers",
                say.get("voice"),
                say.get("language"),
            )
            return SAY_INVALID_VOICE
    return None


def _fetch(call: SandboxCall, url: str, extra: dict[str, str]) -> ET.Element | None:
    response = post_signed(url, {**_base_params(call), **extra})
    if response is None or response.status_code != 200:
        return None
    try:
        return ET.fromstring(response.content)  # noqa: S314
    except ET.ParseError:
        return None


def converse(
    call: SandboxCall,
    url: str,
    extra: dict[str, str] | None = None,
    *,
    document: ET.Element | None = None,
    may_dial: bool = True,
) -> bool:
    """Follows the call's TwiML from `url` (or from `document`, already in hand, read as if
    fetched from `url`) until it hangs up or ends. Returns True when the call waits on a
    <Dial> whose end takes it on."""
    extra = dict(extra or {})
    person = call.plan != "machine"
    digits: list[str] = []
    waiting = False
    for _step in range(MAX_DOCUMENTS):
        root, document = document, None
        if root is None:
            root = _fetch(call, url, extra) if url else None
        if root is None:
            break
        error = say_error(root)
        if error:
            # The <Say> fails and with it the call, which ends with the error reported.
            _set(call, error_code=error)
            _keep_digits(call, digits)
            finish(call)
            return True
        step = next_request(root, url, person=person, call=call)
        if isinstance(step, DialStep):
            if not may_dial:  # a called party's document may not dial (Twilio's 13201)
                break
            _keep_digits(call, digits)
            digits = []
            going_on = dial_begin(call, step, url)
            if going_on is None:
                waiting = True
                break
            url, extra, document = going_on
            continue
        if step is None:
            break
        url, extra = step
        if extra.get("Digits") == "hangup":
            # Hung up while recording: Twilio posts the action and reads no more TwiML.
            post_signed(url, {**_base_params(call), **extra})
            break
        if "Digits" in extra:
            digits.append(extra["Digits"])
    _keep_digits(call, digits)
    return waiting


def _keep_digits(call: SandboxCall, digits: list[str]) -> None:
    if digits:
        _set(call, digits=",".join([d for d in (call.digits, *digits) if d])[:100])


# --- <Dial> ---------------------------------------------------------------------------


def _dial_timeout(verb: ET.Element) -> int:
    try:
        return max(1, min(600, int(verb.get("timeout") or DIAL_TIMEOUT)))
    except ValueError:
        return DIAL_TIMEOUT


def _events(named: str) -> list[str]:
    """The child's status callback events: those the <Number> names, else completed."""
    names = re.split(r"[\s,]+", named)
    return [event for event in EVENTS if event in names] or ["completed"]


def dial_begin(
    call: SandboxCall, step: DialStep, url: str
) -> tuple[str, dict[str, str], ET.Element | None] | None:
    """Places a <Dial>'s <Number> as a child call of `call`, which waits for its end (None).
    A number that cannot be called ends the <Dial> at once, without a child call: returns
    where the call goes on then."""
    verb = step.verb
    number = verb.find("Number")
    attrs = number.attrib if number is not None else {}
    to = ((number.text if number is not None else verb.text) or "").strip()
    pending = {
        "url": url,
        "action": urljoin(url, verb.get("action")) if verb.get("action") else "",
        "rest": _document_of(step.rest),
    }
    if not dialable(to):
        result = {"DialCallStatus": "failed", "DialCallDuration": "0", "DialBridged": "false"}
        return _after_dial(pending, result)
    status_callback, whisper = attrs.get("statusCallback"), attrs.get("url")
    child = SandboxCall.objects.create(
        sid="CA" + secrets.token_hex(16),
        account_sid=call.account_sid,
        parent_call_sid=call.sid,
        direction="outbound-dial",
        to=to,
        from_number=verb.get("callerId") or call.from_number,
        url=urljoin(url, whisper) if whisper else "",
        method=(attrs.get("method") or "POST").upper(),
        status_callback=urljoin(url, status_callback) if status_callback else "",
        status_callback_events=_events(attrs.get("statusCallbackEvent") or ""),
        timeout=_dial_timeout(verb),
        machine_detection=attrs.get("machineDetection") or "",
        plan=plan_for(to),
        **first_step_fields(),
    )
    _set(call, pending_dial={**pending, "child": child.sid})
    begin(child.sid)
    return None


def _document_of(verbs: list[ET.Element]) -> str:
    root = ET.Element("Response")
    root.extend(verbs)
    return ET.tostring(root, encoding="unicode")


def _after_dial(
    pending: dict, result: dict[str, str]
) -> tuple[str, dict[str, str], ET.Element | None] | None:
    """Where a call goes on when its <Dial> ends: the action is requested with the Dial's
    result; without one, the verbs after the <Dial> run; with none left, the call ends."""
    if pending.get("action"):
        return pending["action"], result, None
    rest = ET.fromstring(pending.get("rest") or "<Response/>")  # noqa: S314 (our own)
    if not len(rest):
        return None
    return pending.get("url", ""), {}, rest


def dial_ended(child: SandboxCall) -> None:
    """The child call of a <Dial> has ended: its parent goes on, and hangs up when its TwiML
    does."""
    parent = SandboxCall.objects.filter(sid=child.parent_call_sid).first()
    if parent is None or parent.pending_dial.get("child") != child.sid:
        return
    pending = parent.pending_dial
    _set(parent, pending_dial={})
    bridged = child.start_time is not None
    result = {
        "DialCallStatus": child.status,
        "DialCallSid": child.sid,
        "DialCallDuration": str(child.duration or 0),
        "DialBridged": "true" if bridged else "false",
    }
    going_on = _after_dial(pending, result)
    if going_on is not None:
        url, extra, document = going_on
        if converse(parent, url, extra, document=document):
            return
    finish(parent)
