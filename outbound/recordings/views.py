"""The carrier's recording status callbacks, and the audio streamed to those who may hear
it, fetched from the carrier with the account's credentials."""

import logging
import re

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from outbound import telephony
from outbound.recordings import selectors, services
from outbound.webhooks import signed

logger = logging.getLogger(__name__)
CHUNK = 64 * 1024
# What passes from the carrier's answer to ours, so the player can seek.
PASSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges")
BYTE_RANGE_RE = re.compile(r"bytes=\d*-\d*")


@signed
@require_POST
def recording_status(request, attempt_id: int):
    try:
        kept = services.recording_record(attempt_id=attempt_id, params=request.POST)
    except services.Refused as refusal:
        logger.warning("Recording callback for attempt %s refused: %s", attempt_id, refusal)
        return HttpResponse(refusal.reason, status=refusal.status, content_type="text/plain")
    if kept is None:
        return HttpResponse(status=404)
    return HttpResponse(status=204)


def _byte_range(request) -> str:
    """The player's Range header, passed on only when it is a plain byte range."""
    header = request.headers.get("Range", "").strip()
    return header if BYTE_RANGE_RE.fullmatch(header) else ""


def _chunks(media):
    try:
        yield from media.iter_content(CHUNK)
    finally:
        media.close()


@require_http_methods(["GET", "HEAD"])
def recording_audio(request, sid: str, format: str):
    """The recording's audio (a call's, or an open answer spoken on a voice survey) for a
    user who may hear it; 404 for anyone else."""
    if not selectors.may_hear(user=request.user, sid=sid):
        raise Http404
    try:
        media = telephony.recording_media(sid, format, byte_range=_byte_range(request))
    except telephony.TelephonyError as error:
        logger.warning("Recording %s could not be fetched: %s", sid, error)
        return HttpResponse(status=502)
    if media.status_code not in (200, 206):
        media.close()
        logger.warning("The carrier answered %s for recording %s", media.status_code, sid)
        if media.status_code == 404:
            raise Http404
        return HttpResponse(status=502)
    response = StreamingHttpResponse(
        _chunks(media), status=media.status_code, content_type=telephony.RECORDING_FORMATS[format]
    )
    for header in PASSED_HEADERS:
        if header in media.headers:
            response[header] = media.headers[header]
    response["Cache-Control"] = "private, max-age=300"
    return response
