"""The one door to Twilio. With credentials set it talks to Twilio; without, the very same
SDK calls go to the sandbox inside Waihu. Twilio's errors come back classified."""

import datetime
import functools
import json
import logging
import re
from dataclasses import dataclass

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"

# Twilio's error dictionary, https://www.twilio.com/docs/api/errors/<code>.
# "The number is wrong": retrying will not help. 13223 is <Dial>'s "invalid phone number
# format"; 13224 stays out, since Twilio also answers it for valid numbers no carrier can
# reach during an outage, and 21401/21612 are Messaging codes that no call returns.
INVALID_NUMBER_CODES = frozenset({13223, 21211, 21214, 21217})
# Refusals of the account itself, not of the number: every call would get the same, so
# the campaign pauses and the contact keeps its place. Code -> kind (PauseReason).
ACCOUNT_REFUSAL_CODES = {
    # Voice geographic permissions: the API's, <Dial>'s and SIP's codes.
    21215: "geo_permission",
    13227: "geo_permission",
    32205: "geo_permission",
    # Twilio's own block list (fraud risk, regulation, no Primary Customer Profile for +1).
    21216: "blocked",
    # The From is neither a number of the account nor a verified caller ID.
    21210: "caller_id",
    21212: "caller_id",
    13214: "caller_id",
    # The credentials.
    20003: "authentication",
    # Suspended, closed, out of funds, or a trial account.
    10001: "account_inactive",
    10002: "account_inactive",
    20005: "account_inactive",
    20403: "account_inactive",
}
# "Invalid call state": Twilio refuses to update a call that has already ended.
CALL_NOT_IN_PROGRESS = 21220
# 10004: the account's concurrent-call limit; the others ask us to slow down.
RATE_LIMIT_CODES = frozenset({20429, 14107, 10004})


class TelephonyError(Exception):
    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidNumber(TelephonyError):
    """The number cannot be called: mark the contact invalid."""


class TransientError(TelephonyError):
    """Rate limited, a server error or the network: try again after a while."""


class CallRejected(TelephonyError):
    """Any other refusal: this attempt failed."""


class AccountRefusal(TelephonyError):
    """The account may not place this call (permissions, caller ID, credentials, a suspended
    account): no call will go through until somebody fixes the account."""

    def __init__(self, message: str, *, kind: str, code: int | None = None, status=None):
        super().__init__(message, code=code, status=status)
        self.kind = kind


@dataclass(frozen=True)
class CallSnapshot:
    sid: str
    status: str
    duration: int | None
    answered_by: str
    error_code: str = ""


def is_sandbox() -> bool:
    """No Twilio credentials: the SDK's requests go to the sandbox (if it is on)."""
    return not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def sandbox_enabled() -> bool:
    """The sandbox plays calls only without credentials, and only where it was asked for
    (WAIHU_SANDBOX; on by default in development, off in production)."""
    return is_sandbox() and settings.WAIHU_SANDBOX


def mode() -> str:
    """ "twilio", "sandbox", or "off": no credentials and no sandbox, so no call at all."""
    if not is_sandbox():
        return "twilio"
    return "sandbox" if settings.WAIHU_SANDBOX else "off"


def is_own_url(url: str) -> bool:
    """Whether `url` is one of Waihu's own addresses (the only ones the sandbox fetches or
    posts to: it must never be a way to make the worker request anything else)."""
    own = [settings.PUBLIC_BASE_URL]
    if settings.WAIHU_SANDBOX_API_URL:
        own.append(settings.WAIHU_SANDBOX_API_URL)
    return any(url.startswith(base.rstrip("/") + "/") for base in own)


def sandbox_api_url() -> str:
    return settings.WAIHU_SANDBOX_API_URL or f"{settings.PUBLIC_BASE_URL}/sandbox"


def sandbox_auth_token() -> str:
    """The sandbox account's token: from the environment, or random in the data folder."""
    return settings.WAIHU_SANDBOX_AUTH_TOKEN


def account_sid() -> str:
    return settings.WAIHU_SANDBOX_ACCOUNT_SID if is_sandbox() else settings.TWILIO_ACCOUNT_SID


def auth_token() -> str:
    """The secret callbacks are signed with."""
    return sandbox_auth_token() if is_sandbox() else settings.TWILIO_AUTH_TOKEN


class _RedirectingHttpClient(TwilioHttpClient):
    """Sends the SDK's requests for api.twilio.com to the sandbox's address instead."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url
        # Plain HTTP to the sandbox gets the same pooled connections as HTTPS.
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


@functools.lru_cache(maxsize=4)
def _client(sid: str, token: str, sandbox_url: str | None) -> Client:
    if sandbox_url:
        http_client = _RedirectingHttpClient(sandbox_url, timeout=15)
    else:
        http_client = TwilioHttpClient(timeout=15)
    return Client(sid, token, http_client=http_client)


def client() -> Client:
    if mode() == "off":
        raise AccountRefusal(
            "No Twilio credentials are set (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) and the "
            "sandbox is off (WAIHU_SANDBOX): no call can be placed.",
            kind="authentication",
        )
    if is_sandbox():
        return _client(settings.WAIHU_SANDBOX_ACCOUNT_SID, sandbox_auth_token(), sandbox_api_url())
    return _client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, None)


def _refusal(error: Exception) -> tuple[int | None, int | None, str] | None:
    """(code, HTTP status, message) of a refusal Twilio answered: a TwilioRestException,
    or the plain TwilioException the SDK raises when a list page is refused."""
    if isinstance(error, TwilioRestException):
        code = error.code if isinstance(error.code, int) else None
        return code, error.status, error.msg or str(error)
    response = error.args[1] if isinstance(error, TwilioException) and len(error.args) > 1 else None
    if not isinstance(response, Response):
        return None
    try:
        body = json.loads(response.text or "{}")
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body, dict) else None
    message = (body.get("message") if isinstance(body, dict) else None) or str(error.args[0])
    return (code if isinstance(code, int) else None), response.status_code, message


def classify(error: Exception) -> TelephonyError:
    if isinstance(error, TelephonyError):
        return error
    refusal = _refusal(error)
    if refusal is not None:
        code, status, message = refusal
        if code in ACCOUNT_REFUSAL_CODES:
            return AccountRefusal(
                message, kind=ACCOUNT_REFUSAL_CODES[code], code=code, status=status
            )
        if code is None and status == 401:
            return AccountRefusal(message, kind="authentication", status=status)
        if code in INVALID_NUMBER_CODES:
            return InvalidNumber(message, code=code, status=status)
        if code in RATE_LIMIT_CODES or status == 429 or (status and status >= 500):
            return TransientError(message, code=code, status=status)
        return CallRejected(message, code=code, status=status)
    if isinstance(error, requests.RequestException | TwilioException | OSError):
        return TransientError(str(error))
    return CallRejected(str(error))


def place_call(
    *,
    to: str,
    from_: str,
    twiml_url: str,
    status_callback: str,
    timeout: int | None = None,
    machine_detection: bool = False,
    detect_message_end: bool = False,
    record: bool = False,
    recording_status_callback: str = "",
) -> str:
    """Asks the carrier to call `to`; returns the call's SID or raises a TelephonyError.
    With machine detection, the call's first TwiML request carries AnsweredBy; asked to
    detect the message's end, a machine is reported only after its greeting (the beep)."""
    options = {}
    if machine_detection:
        options["machine_detection"] = "DetectMessageEnd" if detect_message_end else "Enable"
    if record:
        options["record"] = True
        if recording_status_callback:
            options.update(recording_callback_options(recording_status_callback))
    try:
        call = client().calls.create(
            to=to,
            from_=from_,
            url=twiml_url,
            method="POST",
            status_callback=status_callback,
            status_callback_event=list(STATUS_EVENTS),
            status_callback_method="POST",
            timeout=timeout or settings.WAIHU_RING_TIMEOUT_SECONDS,
            # Twilio ends the call at this length, so settling knows when to stop waiting.
            time_limit=settings.WAIHU_LONGEST_CALL_MINUTES * 60,
            **options,
        )
    except Exception as error:
        raise classify(error) from error
    return call.sid


def fetch_call(sid: str) -> CallSnapshot:
    try:
        call = client().calls(sid).fetch()
    except Exception as error:
        raise classify(error) from error
    duration = int(call.duration) if call.duration not in (None, "") else None
    return CallSnapshot(
        sid=call.sid, status=call.status, duration=duration, answered_by=call.answered_by or ""
    )


def calls_to(*, to: str, from_: str, limit: int = 20) -> list[tuple[str, datetime.datetime]]:
    """The account's latest calls from `from_` to `to` (Twilio's To and From filters on the
    Calls list): their SIDs and when the carrier accepted them."""
    try:
        found = client().calls.list(to=to, from_=from_, limit=limit)
    except Exception as error:
        raise classify(error) from error
    return [(call.sid, call.date_created) for call in found if call.date_created is not None]


def cancel_call(sid: str) -> str:
    """Asks the carrier to cancel a call it has queued or is ringing; a call already
    answered goes on. Returns the call's status afterwards (a call that has already ended,
    which Twilio refuses to update with 21220, is left as it is)."""
    try:
        return client().calls(sid).update(status="canceled").status
    except TwilioRestException as error:
        if error.code != CALL_NOT_IN_PROGRESS:
            raise classify(error) from error
    except Exception as error:
        raise classify(error) from error
    try:
        return client().calls(sid).fetch().status
    except Exception as error:
        raise classify(error) from error


@dataclass(frozen=True)
class CallerId:
    number: str
    owned: bool
    verified: bool

    @property
    def usable(self) -> bool:
        return self.owned or self.verified


def caller_id_check(number: str) -> CallerId:
    """Whether the account owns `number` (IncomingPhoneNumbers) or has verified it as an
    outgoing caller ID (OutgoingCallerIds): Twilio places calls from no other number."""
    try:
        owned = client().incoming_phone_numbers.list(phone_number=number, limit=20)
        verified = client().outgoing_caller_ids.list(phone_number=number, limit=20)
    except Exception as error:
        raise classify(error) from error
    # The filter also matches partial numbers: only an exact one counts.
    return CallerId(
        number=number,
        owned=any(found.phone_number == number for found in owned),
        verified=any(found.phone_number == number for found in verified),
    )


def account_status() -> str:
    """The account's status as Twilio reports it: active, suspended or closed."""
    try:
        account = client().api.v2010.accounts(account_sid()).fetch()
    except Exception as error:
        raise classify(error) from error
    return account.status or ""


def webhook_shared_key() -> str:
    return settings.TWILIO_WEBHOOK_SHARED_KEY


def sign(url: str, params) -> str:
    """The X-Twilio-Signature the carrier would send with `params` posted to `url`."""
    return RequestValidator(auth_token()).compute_signature(url, params)


def signature_is_valid(url: str, params, signature: str, signature_settings: str = "") -> bool:
    """Checks a webhook's signature: with the auth token (HMAC-SHA1), or, when Twilio says
    in X-Twilio-Webhooks-Signature-Settings that a Webhooks SharedKey signed it, with that
    key and the algorithm the header names (HMAC-SHA256)."""
    if not signature:
        return False
    if not signature_settings:
        return RequestValidator(auth_token()).validate(url, params, signature)
    key = webhook_shared_key()
    if not key:
        logger.warning(
            "webhook signed with a Twilio SharedKey (%s), but TWILIO_WEBHOOK_SHARED_KEY is "
            "not set: refused",
            signature_settings,
        )
        return False
    algorithm = get_signature_algorithm(signature_settings)
    return RequestValidator(key).validate(url, params, signature, algorithm=algorithm)


# --- recordings ------------------------------------------------------------------------

RECORDING_SID_RE = re.compile(r"RE[0-9a-fA-F]{32}")
RECORDING_FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav"}
# "completed": the audio can be fetched; "absent": there is none (too short or silent).
RECORDING_EVENTS = ("completed", "absent")
_media_session = requests.Session()


def recording_callback_options(url: str) -> dict:
    """The SDK's arguments that ask for recording status callbacks at `url`."""
    return {
        "recording_status_callback": url,
        "recording_status_callback_event": list(RECORDING_EVENTS),
        "recording_status_callback_method": "POST",
    }


def api_base_url() -> str:
    return sandbox_api_url() if is_sandbox() else TWILIO_API


def recording_url(sid: str) -> str:
    """Where the carrier keeps a recording of our account: built from our account and the
    recording's SID, so no address a request brought is ever fetched or shown."""
    return f"{api_base_url()}/2010-04-01/Accounts/{account_sid()}/Recordings/{sid}"


def recording_media(sid: str, format: str = "mp3", *, byte_range: str = "") -> requests.Response:
    """Opens a recording's audio at the carrier with the account's credentials (accounts
    that enforce HTTP authentication on media answer 401 without them). The response
    streams; the caller closes it. A byte range asked for is passed on."""
    if not RECORDING_SID_RE.fullmatch(sid) or format not in RECORDING_FORMATS:
        raise ValueError(f"Not a recording: {sid}.{format}")
    # Unencoded, so the byte counts passed on to the player are those of the audio.
    headers = {"Accept-Encoding": "identity"}
    if byte_range:
        headers["Range"] = byte_range
    try:
        return _media_session.get(
            f"{recording_url(sid)}.{format}",
            auth=(account_sid(), auth_token()),
            headers=headers,
            stream=True,
            timeout=15,
        )
    except requests.RequestException as error:
        raise TransientError(str(error)) from error


def recording_delete(sid: str) -> bool:
    """Deletes a recording at the carrier (the end of retention). True when it was deleted,
    False when the carrier no longer has it; anything else raises the classified error."""
    if not RECORDING_SID_RE.fullmatch(sid):
        raise ValueError(f"Not a recording: {sid}")
    try:
        return bool(client().recordings(sid).delete())
    except TwilioRestException as error:
        if error.status == 404:
            return False
        raise classify(error) from error
    except Exception as error:
        raise classify(error) from error


# --- ending a call ---------------------------------------------------------------------


def call_end(sid: str) -> str:
    """Hangs up a call through the Calls API and returns its status afterwards. A call not
    yet answered (queued or ringing) is canceled; one in progress is completed, and so is a
    call that was answered while it was being canceled (Twilio's "canceled" leaves a call in
    progress alone). A call that has already ended is left as it is."""
    try:
        calls = client().calls
        status = calls(sid).fetch().status
        if status in ("queued", "initiated", "ringing"):
            status = calls(sid).update(status="canceled").status
        if status == "in-progress":
            status = calls(sid).update(status="completed").status
    except TwilioRestException as error:
        if error.code != CALL_NOT_IN_PROGRESS:  # it ended meanwhile
            raise classify(error) from error
        try:
            status = client().calls(sid).fetch().status
        except Exception as again:
            raise classify(again) from again
    except Exception as error:
        raise classify(error) from error
    return status
