"""The carrier's requests for the voice survey and the agent's bridge. Like the dialer's
webhooks, each must carry a valid X-Twilio-Signature for its public address."""

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from outbound.agent import services as agent_services
from outbound.models import CallAttempt
from outbound.voice import services
from outbound.webhooks import signed

XML = "application/xml"


def _attempt(attempt_id: int) -> CallAttempt | None:
    return (
        CallAttempt.objects.select_related(
            "contact", "campaign__dialing", "campaign__questionnaire__questionnaire"
        )
        .filter(pk=attempt_id)
        .first()
    )


@signed
@require_http_methods(["GET", "POST"])
def start(request, attempt_id: int):
    attempt = _attempt(attempt_id)
    if attempt is None:
        return HttpResponse(status=404)
    # One commit per document: the carrier waits on it.
    with transaction.atomic():
        document = services.voice_start_twiml(attempt=attempt, request=request)
    return HttpResponse(document, XML)


@signed
@require_POST
def gather(request, interview_id: int, question_id: int):
    try:
        tries = max(1, int(request.GET.get("try", "1")))
    except ValueError:
        tries = 1
    with transaction.atomic():
        document = services.voice_gather_twiml(
            interview_id=interview_id,
            question_id=question_id,
            params=request.POST,
            tries=tries,
        )
    return HttpResponse(document, XML)


@signed
@require_POST
def recording_status(request, interview_id: int, question_id: int):
    if not services.voice_recording_status(
        interview_id=interview_id, question_id=question_id, params=request.POST
    ):
        return HttpResponse(status=404)
    return HttpResponse(status=204)


@signed
@require_POST
def opt_out(request, interview_id: int):
    with transaction.atomic():
        document = services.voice_opt_out_twiml(
            interview_id=interview_id, digits=request.POST.get("Digits", "")
        )
    return HttpResponse(document, XML)


@signed
@require_http_methods(["GET", "POST"])
def bridge(request, attempt_id: int):
    attempt = _attempt(attempt_id)
    if attempt is None:
        return HttpResponse(status=404)
    return HttpResponse(services.agent_bridge_twiml(attempt=attempt, request=request), XML)


@signed
@require_POST
def bridge_status(request, attempt_id: int):
    if not agent_services.agent_leg_record(attempt_id=attempt_id, params=request.POST):
        return HttpResponse(status=404)
    return HttpResponse(status=204)


@signed
@require_POST
def bridge_dialled(request, attempt_id: int):
    document = services.agent_dial_ended_twiml(attempt=_attempt(attempt_id), params=request.POST)
    return HttpResponse(document, XML)
