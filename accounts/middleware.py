"""Sessions end after an idle time (WAIHU_SESSION_IDLE_MINUTES) as well as at most after a
working day (SESSION_COOKIE_AGE)."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.translation import gettext as _

from accounts.audit import request_bound

LAST_SEEN = "waihu_last_seen"
STARTED = "waihu_started"
# The session is written at most once a minute just to note the user is still there.
RESOLUTION_SECONDS = 60


def _is_background(request) -> bool:
    """A page's own polling (it asks for JSON) is not the user at work: it neither keeps a
    session alive nor gets a redirect its script could not follow."""
    return "application/json" in request.headers.get("Accept", "")


def session_stamp(sender, request, user, **kwargs):
    """At login (user_logged_in): the session's start and the user's last activity."""
    now = time.time()
    request.session[STARTED] = now
    request.session[LAST_SEEN] = now


class SessionIdleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN)
            started = request.session.setdefault(STARTED, now)
            # Every write slides the session's expiry, so the working day is counted here.
            too_long = now - started > settings.SESSION_COOKIE_AGE
            idle = (
                last_seen is not None and now - last_seen > settings.WAIHU_SESSION_IDLE_MINUTES * 60
            )
            if idle or too_long:
                logout(request)
                if _is_background(request):
                    return JsonResponse({"error": "session expired"}, status=401)
                messages.info(request, _("You were logged out after a time without activity."))
                return redirect_to_login(request.get_full_path())
            if not _is_background(request) and (
                last_seen is None or now - last_seen >= RESOLUTION_SECONDS
            ):
                request.session[LAST_SEEN] = now
        return self.get_response(request)


class AuditRequestMiddleware:
    """Keeps the request at hand while it is served, for the audit trail (accounts.audit):
    services and signal receivers record its address and user without being given it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_bound(request):
            return self.get_response(request)
