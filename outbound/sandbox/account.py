"""The sandbox account's own resources in Twilio's JSON shape: the account itself, the
numbers it owns (IncomingPhoneNumbers) and the caller IDs it has verified
(OutgoingCallerIds), each list paged as Twilio pages it."""

import datetime
import re
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from outbound.models import SandboxCallQueue
from outbound.sandbox.endpoint import (
    API_VERSION,
    readable_when_inactive,
    sandbox_endpoint,
    twilio_error,
)

# The sandbox's numbers were always there: any fixed moment will do.
CREATED = "Mon, 01 Jan 2024 00:00:00 +0000"
MAX_PAGE_SIZE = 1000


def account_status() -> str:
    return settings.WAIHU_SANDBOX_ACCOUNT_STATUS


def owned_numbers() -> list[str]:
    return list(settings.WAIHU_SANDBOX_OWNED_NUMBERS)


def verified_caller_ids() -> list[str]:
    return list(settings.WAIHU_SANDBOX_VERIFIED_CALLER_IDS)


def may_call_from(number: str) -> bool:
    return number in owned_numbers() or number in verified_caller_ids()


def _sid(prefix: str, number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return prefix + digits.rjust(32, "0")[-32:]


def _matches(number: str, pattern: str) -> bool:
    """Twilio's PhoneNumber filter: the number, or a part of it, '*' standing for a digit."""
    if not pattern:
        return True
    expression = "".join(r"\d" if char == "*" else re.escape(char) for char in pattern)
    return re.search(expression, number) is not None


def _page(request, key: str, path: str, records: list[dict]) -> JsonResponse:
    """One page of `records`, with the paging fields Twilio's list resources carry."""
    try:
        size = max(1, min(int(request.GET.get("PageSize") or 50), MAX_PAGE_SIZE))
        number = max(0, int(request.GET.get("Page") or 0))
    except ValueError:
        return twilio_error(400, 400, "Bad Request: Page and PageSize are whole numbers")
    filters = {
        name: request.GET[name] for name in ("PhoneNumber", "FriendlyName") if name in request.GET
    }

    def uri(page: int) -> str:
        return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': page})}"

    first = number * size
    shown = records[first : first + size]
    more = first + size < len(records)
    return JsonResponse(
        {
            key: shown,
            "uri": uri(number),
            "first_page_uri": uri(0),
            "next_page_uri": uri(number + 1) if more else None,
            "previous_page_uri": uri(number - 1) if number > 0 else None,
            "page": number,
            "page_size": size,
            "start": first,
            "end": first + max(len(shown) - 1, 0),
        }
    )


@sandbox_endpoint
@require_GET
@readable_when_inactive
def account_detail(request, account_sid: str):
    base = f"/{API_VERSION}/Accounts/{account_sid}"
    return JsonResponse(
        {
            "sid": account_sid,
            "owner_account_sid": account_sid,
            "friendly_name": "Waihu sandbox",
            "status": account_status(),
            "type": "Full",
            "auth_token": None,
            "date_created": CREATED,
            "date_updated": CREATED,
            "uri": f"{base}.json",
            "subresource_uris": {
                "calls": f"{base}/Calls.json",
                "incoming_phone_numbers": f"{base}/IncomingPhoneNumbers.json",
                "outgoing_caller_ids": f"{base}/OutgoingCallerIds.json",
            },
        }
    )


def _incoming(account_sid: str, number: str) -> dict:
    sid = _sid("PN", number)
    return {
        "sid": sid,
        "account_sid": account_sid,
        "phone_number": number,
        "friendly_name": number,
        "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
        "status": "in-use",
        "origin": "twilio",
        "api_version": API_VERSION,
        "date_created": CREATED,
        "date_updated": CREATED,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json",
    }


def _verified(account_sid: str, number: str) -> dict:
    sid = _sid("PN", number)
    return {
        "sid": sid,
        "account_sid": account_sid,
        "phone_number": number,
        "friendly_name": number,
        "date_created": CREATED,
        "date_updated": CREATED,
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/OutgoingCallerIds/{sid}.json",
    }


@sandbox_endpoint
@require_GET
def incoming_phone_numbers(request, account_sid: str):
    pattern = request.GET.get("PhoneNumber", "").strip()
    records = [
        _incoming(account_sid, number) for number in owned_numbers() if _matches(number, pattern)
    ]
    path = f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers.json"
    return _page(request, "incoming_phone_numbers", path, records)


@sandbox_endpoint
@require_GET
def outgoing_caller_ids(request, account_sid: str):
    pattern = request.GET.get("PhoneNumber", "").strip()
    records = [
        _verified(account_sid, number)
        for number in verified_caller_ids()
        if _matches(number, pattern)
    ]
    path = f"/{API_VERSION}/Accounts/{account_sid}/OutgoingCallerIds.json"
    return _page(request, "outgoing_caller_ids", path, records)


def queue_slot(account_sid: str, now: datetime.datetime) -> datetime.datetime:
    """When a call accepted now may leave the account's queue: no sooner than one slot of
    the sandbox's calls per second after the previous call. Call inside a transaction."""
    SandboxCallQueue.objects.get_or_create(account_sid=account_sid)
    queue = SandboxCallQueue.objects.select_for_update().get(account_sid=account_sid)
    start = max(queue.next_start or now, now)
    step = datetime.timedelta(seconds=1 / settings.WAIHU_SANDBOX_CPS)
    SandboxCallQueue.objects.filter(pk=queue.pk).update(next_start=start + step)
    return start
