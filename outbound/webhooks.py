"""What the carrier calls back: status callbacks and the TwiML a call runs. Every request
must carry a valid X-Twilio-Signature for the public address it was sent to."""

import functools

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from twilio.twiml.voice_response import VoiceResponse

from ops.metrics import count_callbacks
from outbound import telephony
from outbound.dialer import services
from outbound.models import CallAttempt, WorkOrder
from outbound.voice.speaker import speaker_for
from surveys.placeholders import placeholders_fill


def public_url(request) -> str:
    """The address the carrier signed: the public base URL, whatever proxy sits between."""
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def signed(view):
    """Refuses any request whose X-Twilio-Signature does not match its address and form:
    signed with the auth token, or with the Webhooks SharedKey when Twilio says so in
    X-Twilio-Webhooks-Signature-Settings (and that key is configured)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        params = request.POST if request.method == "POST" else {}
        signature = request.headers.get("X-Twilio-Signature", "")
        signature_settings = request.headers.get(telephony.SIGNATURE_SETTINGS_HEADER, "")
        if not telephony.signature_is_valid(
            public_url(request), params, signature, signature_settings
        ):
            return HttpResponseForbidden("Invalid signature.")
        return view(request, *args, **kwargs)

    return login_not_required(csrf_exempt(wrapper))


# The parameter names Twilio documents for a call's status callback: the call's own request
# parameters (with their geographic lookups) and those the status callback adds, answering
# machine detection's and the recording's. Twilio's signature is computed over the names and
# values run together, so a genuine signature also matches a form whose name/value boundary
# moved (CallDuration=42 replayed as CallDuration4=2): only a check of the names closes that.
STATUS_CALLBACK_PARAMS = frozenset(
    {
        "AccountSid", "ApiVersion", "CallSid", "CallStatus", "Called", "Caller", "Direction",
        "From", "To", "ForwardedFrom", "CallerName", "ParentCallSid", "CallToken",
        "StirVerstat", "StirStatus",
        *(f"{party}{place}" for party in ("From", "To", "Caller", "Called")
          for place in ("City", "State", "Zip", "Country")),
        "Timestamp", "CallbackSource", "SequenceNumber", "CallDuration", "Duration",
        "SipResponseCode", "AnsweredBy", "MachineDetectionDuration",
        "RecordingUrl", "RecordingSid", "RecordingDuration", "ErrorCode", "ErrorMessage",
    }
)  # fmt: skip


def status_params_unknown(params) -> list[str]:
    """The names in a status callback that Twilio never sends."""
    return sorted(name for name in params if name not in STATUS_CALLBACK_PARAMS)


@count_callbacks
@signed
@require_http_methods(["POST"])
def call_status(request, attempt_id: int):
    if status_params_unknown(request.POST):
        return HttpResponseBadRequest("Unknown parameter.")
    exists, voice_open = services.attempt_record_callback(
        attempt_id=attempt_id, params=request.POST
    )
    if not exists:
        return HttpResponse(status=404)
    if voice_open and request.POST.get("CallStatus") in CallAttempt.FINAL_STATUSES:
        # A voice survey left halfway by a hang-up is kept as a partial interview. (The
        # voice views import this module's signature check, hence the late import.)
        from outbound.voice.services import interview_attempt_ended

        interview_attempt_ended(attempt_id=attempt_id)
    return HttpResponse(status=204)


def _greeting(attempt: CallAttempt) -> tuple[str, str]:
    version = attempt.campaign.questionnaire
    contact = attempt.contact
    if version is None:
        text = _("Hello, this is a call from customer service. Goodbye.")
        return text, translation.get_language() or ""
    language = version.questionnaire.language
    text = " ".join(
        part for part in (version.greeting_salutation, version.greeting_introduction) if part
    )
    context = {
        "customer_name": contact.name,
        "caller_number": attempt.caller_id,
        "brand": contact.brand,
        "region": contact.region,
        "segment": contact.segment,
        **(contact.attributes or {}),
    }
    return placeholders_fill(text, context), language


@signed
@require_http_methods(["GET", "POST"])
def call_twiml(request, attempt_id: int):
    attempt = (
        CallAttempt.objects.select_related(
            "contact", "campaign__dialing", "campaign__questionnaire__questionnaire"
        )
        .filter(pk=attempt_id)
        .first()
    )
    if attempt is None:
        return HttpResponse(status=404)
    if attempt.campaign.mode == WorkOrder.Mode.VOICE and attempt.campaign.questionnaire_id:
        from outbound.voice.services import voice_start_twiml

        return HttpResponse(
            voice_start_twiml(attempt=attempt, request=request), content_type="application/xml"
        )
    text, language = _greeting(attempt)
    response = VoiceResponse()
    speaker_for(language, attempt.campaign).say(response, text)
    response.hangup()
    return HttpResponse(str(response), content_type="application/xml")


@login_not_required
@require_http_methods(["GET", "HEAD"])
def health(request):
    """The webhooks' address answers: for a load balancer, or to compare a callback's cost
    with a request that does nothing."""
    return HttpResponse(status=204)


app_name = "telephony"
urlpatterns = [
    path("attempts/<int:attempt_id>/status/", call_status, name="status"),
    path("attempts/<int:attempt_id>/twiml/", call_twiml, name="twiml"),
    path("health/", health, name="health"),
]
