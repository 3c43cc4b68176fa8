"""The campaign page: live progress, start/pause/resume/stop, the settings, the attempts."""

import hashlib
import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.audit import AuditAction, audit_record, form_changes
from outbound import preflight, privacy, telephony
from outbound.contacts import selectors as contact_selectors
from outbound.dialer import account, selectors, services
from outbound.dialer.forms import AttemptFilterForm, CampaignSettingsForm
from outbound.models import CallAttempt, CampaignSettings, DialState, Outcome, WorkOrder
from outbound.recordings.selectors import audible_prefetch

ACTIONS = {
    "start": (services.campaign_start, gettext_lazy("The campaign is running.")),
    "pause": (
        services.campaign_pause,
        gettext_lazy("The campaign is paused: no new call is placed."),
    ),
    "resume": (services.campaign_resume, gettext_lazy("The campaign is running again.")),
    "stop": (services.campaign_stop, gettext_lazy("The campaign is stopped.")),
}
ATTEMPTS_PER_PAGE = 50
# The carrier's call statuses, in the user's words, for the events of a timeline.
STATUS_LABELS = dict(CallAttempt.Status.choices)


def _campaign_or_404(request, pk: int) -> WorkOrder:
    try:
        return selectors.campaign_for(user=request.user, pk=pk)
    except WorkOrder.DoesNotExist:
        raise Http404(_("No such campaign.")) from None


def _live(campaign: WorkOrder, rules: CampaignSettings) -> dict:
    numbers = selectors.progress(campaign=campaign)
    numbers["state"] = rules.state
    numbers["state_label"] = str(rules.get_state_display())
    return numbers


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S")


def _attempt_row(attempt: CallAttempt, policy: privacy.PhonePolicy) -> dict:
    """One attempt as the page shows it, and as the live JSON sends it for the page's
    script to draw (the number as the viewer may see it); `key` changes whenever anything
    shown does."""
    row = {
        "id": attempt.pk,
        "to": policy.phone(attempt.to, contact=attempt.contact),
        "name": attempt.contact.name,
        "number": attempt.number,
        "status": attempt.status,
        "status_label": str(attempt.get_status_display()),
        "outcome": attempt.outcome,
        "outcome_label": str(attempt.get_outcome_display()) if attempt.outcome else "",
        "error_code": attempt.error_code,
        "duration": attempt.duration,
        "created": _clock(attempt.created_at),
        "events": [
            {
                "time": _clock(event.occurred_at),
                "status": event.status,
                "label": str(STATUS_LABELS.get(event.status, event.status)),
            }
            for event in attempt.events.all()
        ],
        "recordings": [
            {
                "sid": recording.sid,
                "duration": recording.duration,
                "mp3": reverse("recordings:audio", kwargs={"sid": recording.sid, "format": "mp3"}),
                "wav": reverse("recordings:audio", kwargs={"sid": recording.sid, "format": "wav"}),
            }
            for recording in attempt.audible_recordings
        ],
    }
    shown = json.dumps(row, sort_keys=True).encode()
    row["key"] = hashlib.blake2s(shown, digest_size=8).hexdigest()
    return row


def _known_count(live: dict, outcome: str, status: str, search: str) -> int | None:
    """How many attempts the filter matches, when the live numbers already say it."""
    if status or search.strip():
        return None
    if outcome == "open":
        return live["attempts_open"]
    if outcome:
        return live["outcomes"].get(outcome)
    return live["attempts_total"]


def _attempts_page(request, campaign: WorkOrder, live: dict):
    """The page of attempts the query string asks for, and the filter form."""
    filters = AttemptFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    outcome, status = criteria.get("outcome", ""), criteria.get("status", "")
    search = criteria.get("q", "")
    attempts = selectors.attempt_list(
        campaign=campaign, outcome=outcome, status=status, search=search
    ).prefetch_related(audible_prefetch(request.user))
    paginator = Paginator(attempts, ATTEMPTS_PER_PAGE)
    known = _known_count(live, outcome, status, search)
    if known is not None:
        # The kept counts instead of counting the campaign's attempts again.
        paginator.count = known
    page = paginator.get_page(request.GET.get("page"))
    policy = privacy.policy_for(request.user)
    return page, [_attempt_row(attempt, policy) for attempt in page], filters


@require_GET
def campaign_detail(request, pk: int):
    campaign = _campaign_or_404(request, pk)
    rules = services.settings_for(campaign=campaign)
    live = _live(campaign, rules)
    page, rows, filters = _attempts_page(request, campaign, live)
    query = request.GET.copy()
    query.pop("page", None)
    deadlines = selectors.contacts_by_deadline(campaign=campaign)
    return render(
        request,
        "outbound/campaign/detail.html",
        {
            "campaign": campaign,
            "rules": rules,
            "live": live,
            "contact_states": [
                (value, label, live["contacts"][value]) for value, label in DialState.Status.choices
            ],
            "outcomes": [
                (value, label, live["outcomes"][value]) for value, label in Outcome.choices
            ],
            "deadlines": deadlines,
            "at_risk": deadlines.get("at_risk", []),
            "deadline_counts": contact_selectors.deadline_counts(campaign=campaign),
            "can_see_contacts": contact_selectors.can_manage_contacts(
                user=request.user, campaign=campaign
            ),
            "filters": filters,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "live_query": request.GET.urlencode(),
            "can_operate": services.can_operate(user=request.user),
            "is_ready": campaign.run_status == WorkOrder.RunStatus.READY,
            "pause_notice": _pause_notice(rules),
            "telephony_mode": telephony.mode(),
        },
    )


def _pause_notice(rules: CampaignSettings) -> str:
    """What the account's refusal means, while the campaign it paused stays paused."""
    if rules.state != CampaignSettings.State.PAUSED or not rules.paused_reason:
        return ""
    return account.refusal_explanation(rules.paused_reason, caller_id=account.caller_id_of(rules))


@require_GET
def campaign_live(request, pk: int):
    """The live numbers and the page of attempts the campaign page shows (the same filters
    and page), polled by its script."""
    campaign = _campaign_or_404(request, pk)
    numbers = _live(campaign, services.settings_for(campaign=campaign))
    page, rows, _filters = _attempts_page(request, campaign, numbers)
    numbers["attempts"] = rows
    numbers["attempts_matching"] = page.paginator.count
    return JsonResponse(numbers)


@require_POST
def campaign_control(request, pk: int, action: str):
    campaign = _campaign_or_404(request, pk)
    if action not in ACTIONS:
        raise Http404
    service, done = ACTIONS[action]
    try:
        service(campaign=campaign, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("campaigns:detail", pk=campaign.pk)


def campaign_settings(request, pk: int):
    campaign = _campaign_or_404(request, pk)
    if not services.can_operate(user=request.user):
        raise PermissionDenied(_("Only outbound administrators change a campaign's settings."))
    rules = services.settings_for(campaign=campaign)
    # Read before the form is bound: the days as the saved settings have them.
    coming = selectors.coming_special_days(rules=rules)
    form = CampaignSettingsForm(request.POST or None, instance=rules)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit_record(
            user=request.user,
            action=AuditAction.CAMPAIGN_SETTINGS,
            target=campaign,
            details={"changed": form_changes(form)},
            request=request,
        )
        messages.success(request, _("The campaign's settings are saved."))
        return redirect("campaigns:detail", pk=campaign.pk)
    return render(
        request,
        "outbound/campaign/settings.html",
        {
            "campaign": campaign,
            "form": form,
            "coming_days": coming,
            "calendar_missing": selectors.coming_years_missing(),
        },
    )


@require_GET
def telephony_check(request):
    """The go-live checks of the Twilio account (or the sandbox), for the system
    administrator: the same the telephony_check command prints."""
    if not (request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied(_("Only the system administrator runs the telephony check."))
    checks = preflight.run_checks()
    return render(
        request,
        "outbound/telephony_check.html",
        {
            "checks": checks,
            "failed": any(check.status == preflight.FAIL for check in checks),
            "sandbox": telephony.is_sandbox(),
        },
    )
