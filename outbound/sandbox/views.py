"""The sandbox's Calls endpoint, answering in Twilio's JSON shape:
POST /sandbox/2010-04-01/Accounts/<sid>/Calls.json, GET .../Calls/<sid>.json, and POST
.../Calls/<sid>.json with Status to end a call."""

import base64
import binascii
import hmac
import secrets

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from outbound import telephony
from outbound.dialer.services import relaxed_commit
from outbound.models import SandboxCall
from outbound.sandbox import hangup, play
from outbound.sandbox.numbers import ERROR_NUMBERS

API_VERSION = "2010-04-01"


def twilio_error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


def _authorised(request, account_sid: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected_sid = telephony.account_sid()
    return (
        hmac.compare_digest(user, expected_sid)
        and hmac.compare_digest(password, telephony.sandbox_auth_token())
        and account_sid == expected_sid
    )


def sandbox_endpoint(view):
    """Only while no Twilio credentials are set, only with the sandbox's own credentials."""

    def wrapper(request, account_sid: str, *args, **kwargs):
        if not telephony.is_sandbox():
            raise Http404
        if not _authorised(request, account_sid):
            return twilio_error(401, 20003, "Authenticate")
        return view(request, account_sid, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return login_not_required(csrf_exempt(wrapper))


def call_json(call: SandboxCall) -> dict:
    base = f"/{API_VERSION}/Accounts/{call.account_sid}/Calls/{call.sid}"
    return {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "api_version": API_VERSION,
        "date_created": play.rfc2822(call.date_created),
        "date_updated": play.rfc2822(call.date_updated),
        "start_time": play.rfc2822(call.start_time),
        "end_time": play.rfc2822(call.end_time),
        "direction": call.direction,
        "from": call.from_number,
        "from_formatted": call.from_number,
        "to": call.to,
        "to_formatted": call.to,
        "status": call.status,
        "duration": str(call.duration) if call.duration is not None else None,
        "answered_by": call.answered_by or None,
        "price": None,
        "price_unit": "USD",
        "parent_call_sid": call.parent_call_sid or None,
        "phone_number_sid": None,
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "trunk_sid": None,
        "queue_time": "0",
        "annotation": None,
        "uri": f"{base}.json",
        "subresource_uris": {
            "notifications": f"{base}/Notifications.json",
            "recordings": f"{base}/Recordings.json",
            "events": f"{base}/Events.json",
        },
    }


@sandbox_endpoint
@require_http_methods(["POST", "GET"])
def calls(request, account_sid: str):
    if request.method == "GET":
        found = SandboxCall.objects.filter(account_sid=account_sid).order_by("-date_created")
        return JsonResponse({"calls": [call_json(call) for call in found[:50]]})
    data = request.POST
    to = data.get("To", "").strip()
    if not to:
        return twilio_error(400, 21201, "No 'To' number is specified")
    if not data.get("From"):
        return twilio_error(400, 21213, "No 'From' number is specified")
    if not data.get("Url") and not data.get("Twiml"):
        return twilio_error(400, 21205, "Url parameter is required")
    if to in ERROR_NUMBERS:
        return twilio_error(*ERROR_NUMBERS[to])
    if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    try:
        timeout = int(data.get("Timeout") or 60)
    except ValueError:
        return twilio_error(400, 21207, "Timeout must be a whole number")
    with transaction.atomic():
        relaxed_commit()  # the sandbox's own records need no durability
        call = _create(data, account_sid, to, timeout)
    transaction.on_commit(lambda: play.begin(call.sid))
    return JsonResponse(call_json(call), status=201)


def _create(data, account_sid: str, to: str, timeout: int) -> SandboxCall:
    return SandboxCall.objects.create(
        sid="CA" + secrets.token_hex(16),
        account_sid=account_sid,
        to=to,
        from_number=data["From"],
        url=data.get("Url", ""),
        method=(data.get("Method") or "POST").upper(),
        status_callback=data.get("StatusCallback", ""),
        status_callback_events=data.getlist("StatusCallbackEvent") or ["completed"],
        timeout=max(1, min(timeout, 600)),
        machine_detection=data.get("MachineDetection", ""),
        record=data.get("Record", "").lower() == "true",
        plan=play.plan_for(to),
        recording_status_callback=data.get("RecordingStatusCallback", ""),
        recording_status_callback_events=data.getlist("RecordingStatusCallbackEvent"),
    )


def _not_found(account_sid: str, sid: str) -> JsonResponse:
    return twilio_error(
        404,
        20404,
        f"The requested resource /{API_VERSION}/Accounts/{account_sid}"
        f"/Calls/{sid}.json was not found",
    )


@sandbox_endpoint
@require_http_methods(["GET", "POST"])
def call_detail(request, account_sid: str, sid: str):
    if request.method == "POST":
        return call_update(request, account_sid, sid)
    call = SandboxCall.objects.filter(sid=sid, account_sid=account_sid).first()
    if call is None:
        return _not_found(account_sid, sid)
    return JsonResponse(call_json(call))


# --- ending a call (the Calls API's update) ---------------------------------------------

# Twilio's "Invalid call state": a realtime change to a call that is not in progress.
CALL_NOT_IN_PROGRESS = 21220


def call_update(request, account_sid: str, sid: str):
    """POST .../Calls/<sid>.json with Status=canceled or Status=completed, reached through
    call_detail (which has checked the credentials): hangs the call up as Twilio does
    (see sandbox/hangup.py) and answers with the call. A call that has already ended is
    refused with Twilio's 21220. Redirecting a call (Url, Twiml) is not played."""
    call = SandboxCall.objects.filter(sid=sid, account_sid=account_sid).first()
    if call is None:
        return _not_found(account_sid, sid)
    status = request.POST.get("Status", "")
    if status not in ("canceled", "completed"):
        return twilio_error(400, 20001, "Status must be either 'canceled' or 'completed'")
    if call.status in play.FINAL:
        return twilio_error(400, CALL_NOT_IN_PROGRESS, "Call is not in-progress. Cannot redirect.")
    return JsonResponse(call_json(hangup.call_end(call, status)))
