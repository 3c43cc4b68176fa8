"""The sandbox's Calls endpoint, answering in Twilio's JSON shape:
POST /sandbox/2010-04-01/Accounts/<sid>/Calls.json, GET .../Calls/<sid>.json, and POST
.../Calls/<sid>.json with Status to cancel or end a call."""

import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from outbound import telephony
from outbound.dialer.services import relaxed_commit
from outbound.models import SandboxCall
from outbound.sandbox import account, hangup, play
from outbound.sandbox.endpoint import API_VERSION, sandbox_endpoint, twilio_error
from outbound.sandbox.numbers import ERROR_NUMBERS

__all__ = ["API_VERSION", "sandbox_endpoint", "twilio_error"]
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")


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
        "queue_time": str(_queue_ms(call)),
        "annotation": None,
        "uri": f"{base}.json",
        "subresource_uris": {
            "notifications": f"{base}/Notifications.json",
            "recordings": f"{base}/Recordings.json",
            "events": f"{base}/Events.json",
        },
    }


def _queue_ms(call: SandboxCall) -> int:
    if call.queued_until is None or call.date_created is None:
        return 0
    return max(0, round((call.queued_until - call.date_created).total_seconds() * 1000))


@sandbox_endpoint
@require_http_methods(["POST", "GET"])
def calls(request, account_sid: str):
    if request.method == "GET":
        found = SandboxCall.objects.filter(account_sid=account_sid).order_by("-date_created")
        # Twilio's filters on the list: calls to and from a number.
        if request.GET.get("To"):
            found = found.filter(to=request.GET["To"])
        if request.GET.get("From"):
            found = found.filter(from_number=request.GET["From"])
        return JsonResponse({"calls": [call_json(call) for call in found[:50]]})
    data = request.POST
    to = data.get("To", "").strip()
    if not to:
        return twilio_error(400, 21201, "No 'To' number is specified")
    if not data.get("From"):
        return twilio_error(400, 21213, "No 'From' number is specified")
    if not data.get("Url") and not data.get("Twiml"):
        return twilio_error(400, 21205, "Url parameter is required")
    for name in ("Url", "StatusCallback", "RecordingStatusCallback"):
        if data.get(name) and not telephony.is_own_url(data[name]):
            # Twilio fetches any address; the sandbox, running inside Waihu's worker, only
            # Waihu's own, so it cannot be made to request anything else.
            return twilio_error(
                400,
                21205,
                f"{name} is not one of Waihu's addresses: the sandbox only calls back Waihu.",
            )
    if data.get("Twiml"):
        return twilio_error(400, 21205, "The sandbox plays only TwiML fetched from Waihu's Url.")
    from_number = data["From"].strip()
    if not account.may_call_from(from_number):
        return twilio_error(
            400,
            21210,
            f"The source phone number provided, {from_number}, is not yet verified for your "
            "account. You may only make calls from phone numbers that you've verified or "
            "purchased from Twilio.",
        )
    if to in ERROR_NUMBERS:
        return twilio_error(*ERROR_NUMBERS[to])
    if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    try:
        timeout = int(data.get("Timeout") or 60)
    except ValueError:
        return twilio_error(400, 21207, "Timeout must be a whole number")
    limit = settings.WAIHU_SANDBOX_MAX_CONCURRENT
    if limit and (
        SandboxCall.objects.filter(account_sid=account_sid).exclude(status__in=FINAL).count()
        >= limit
    ):
        # https://www.twilio.com/docs/api/errors/10004: the account's concurrent calls.
        return twilio_error(
            429,
            10004,
            "Call concurrency limit exceeded: the call was rejected because the account "
            "reached the maximum limit of concurrent calls.",
        )
    with transaction.atomic():
        relaxed_commit()  # the sandbox's own records need no durability
        now = timezone.now()
        # Past the account's calls per second Twilio accepts the call and queues it.
        leaves_queue = account.queue_slot(account_sid, now)
        call = _create(data, account_sid, to, timeout, queued_until=leaves_queue)
        wait = (leaves_queue - now).total_seconds()
        transaction.on_commit(lambda: _begin(call.sid, wait))
    return JsonResponse(call_json(call), status=201)


def _begin(sid: str, wait: float) -> None:
    play.begin(sid, max(0.0, wait))


def _create(
    data, account_sid: str, to: str, timeout: int, *, queued_until: datetime.datetime
) -> SandboxCall:
    return SandboxCall.objects.create(
        queued_until=queued_until,
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
        **play.first_step_fields(queued_until),
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
