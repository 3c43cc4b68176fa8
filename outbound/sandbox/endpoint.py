"""What every sandbox endpoint shares: Twilio's error shape, and the rule that the sandbox
answers only while no Twilio credentials are set and the sandbox is on, and only to its own
credentials."""

import base64
import binascii
import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from outbound import telephony

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


def readable_when_inactive(view):
    """A suspended or closed account may still read this resource (its own status)."""
    view.readable_when_inactive = True
    return view


def sandbox_endpoint(view):
    """Only while no Twilio credentials are set, only with the sandbox's own credentials,
    and, while the sandbox account is suspended or closed, nothing but its own status."""

    def wrapper(request, account_sid: str, *args, **kwargs):
        if not telephony.sandbox_enabled():
            raise Http404
        if not _authorised(request, account_sid):
            return twilio_error(401, 20003, "Authenticate")
        if settings.WAIHU_SANDBOX_ACCOUNT_STATUS != "active" and not getattr(
            view, "readable_when_inactive", False
        ):
            return twilio_error(
                403,
                20403,
                "The account lacks permission to access the Twilio API: it is suspended or closed.",
            )
        return view(request, account_sid, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return login_not_required(csrf_exempt(wrapper))
