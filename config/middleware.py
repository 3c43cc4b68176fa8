"""Request bodies are measured before anything reads them."""

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _

# What the carrier posts (a status callback, a key pressed, a recording's details) is a few
# hundred bytes; anything near this is not the carrier.
WEBHOOK_PREFIXES = ("/telephony/", "/twilio/")
WEBHOOK_MAX_BYTES = 64 * 1024


class RequestSizeLimitMiddleware:
    """413 for a body larger than WAIHU_UPLOAD_MAX_MB (an upload's limit; the carrier's
    webhooks get 64 KB), before a view, the CSRF check or the signature check parses it:
    an unsigned 50 MB body is never written to temporary storage."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse(status=400)
        limit = (
            WEBHOOK_MAX_BYTES
            if request.path.startswith(WEBHOOK_PREFIXES)
            else settings.WAIHU_UPLOAD_MAX_MB * 1024 * 1024
        )
        if length > limit:
            size = f"{limit / 1048576:g} MB" if limit >= 1048576 else f"{limit // 1024} KB"
            return HttpResponse(
                _("The request is larger than %(size)s.") % {"size": size},
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
