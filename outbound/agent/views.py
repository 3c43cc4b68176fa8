"""The agent console: the campaigns an agent works, the desk of one campaign (ready, paused,
the countdown to the next call in progressive mode), the next contact, the call and the
script, hanging up, the disposition; and the supervisor's view of the room. An agent sees
only their own campaigns and interviews (others get 404); every change is a POST. Every
control has its key (see forms.py); agent.js reads them from the page."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from outbound.agent import forms as agent_forms
from outbound.agent import pace, selectors, services, sessions
from outbound.agent.forms import DispositionForm, PauseForm, seconds_from
from outbound.models import AgentState, CampaignSettings, Interview, ScriptReading, WorkOrder
from outbound.recordings.selectors import audible_prefetch
from surveys import services as surveys
from surveys.display import answer_text
from surveys.engine import script_build, walk
from surveys.forms import AnswerForm
from surveys.models import ResponseStatus, Special
from surveys.placeholders import placeholders_fill


def _agent_or_404(request) -> None:
    if not selectors.is_agent(request.user):
        raise Http404


def _campaign_or_404(request, pk: int) -> WorkOrder:
    _agent_or_404(request)
    try:
        return selectors.agent_campaign_for(user=request.user, pk=pk)
    except WorkOrder.DoesNotExist as error:
        raise Http404 from error


def _interview_or_404(request, pk: int) -> Interview:
    _agent_or_404(request)
    try:
        return selectors.interview_for(user=request.user, pk=pk)
    except Interview.DoesNotExist as error:
        raise Http404 from error


def _page(interview: Interview) -> str:
    return reverse("agent:interview", args=[interview.pk])


def _error(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@require_GET
def campaign_list(request):
    _agent_or_404(request)
    sessions.session_seen(agent_id=request.user.pk)
    return render(
        request,
        "outbound/agent/campaign_list.html",
        {
            "campaigns": selectors.agent_campaigns(user=request.user),
            "holds": selectors.open_interviews(user=request.user),
            "me": _me(request.user),
            "pause_form": PauseForm(),
            "keys": agent_forms,
        },
    )


def _me(user) -> dict | None:
    """The agent's own row of the board: state, since when, the day's figures."""
    rows = selectors.agent_board(agent=user)
    return rows[0] if rows else None


NOBODY_DUE_RETRY_SECONDS = 20


def _desk(campaign: WorkOrder) -> str:
    return reverse("agent:desk", args=[campaign.pk])


def _progressive(campaign: WorkOrder) -> bool:
    rules = campaign.dialing
    return rules.agent_dialing_mode == CampaignSettings.AgentDialing.PROGRESSIVE


@require_GET
def desk(request, pk: int):
    campaign = _campaign_or_404(request, pk)
    sessions.session_seen(agent_id=request.user.pk)
    me = _me(request.user)
    working_here = (
        me is not None and me["state"] != AgentState.OFFLINE and me["campaign"] == campaign
    )
    return render(
        request,
        "outbound/agent/desk.html",
        {
            "campaign": campaign,
            "rules": campaign.dialing,
            "progressive": _progressive(campaign),
            "me": me,
            "working_here": working_here,
            "holds": selectors.open_interviews(user=request.user).filter(campaign=campaign),
            "pause_form": PauseForm(),
            "keys": agent_forms,
            # Nobody was due last time: progressive dialling asks again less often.
            "delay": max(
                campaign.dialing.progressive_delay_seconds,
                NOBODY_DUE_RETRY_SECONDS if request.GET.get("nobody") else 0,
            ),
        },
    )


@require_POST
def sign_in(request, pk: int):
    campaign = _campaign_or_404(request, pk)
    try:
        services.agent_sign_in(agent=request.user, campaign=campaign)
    except ValidationError as error:
        _error(request, error)
    return redirect(_desk(campaign))


@require_POST
def campaign_next(request, pk: int):
    """The next contact: held to preview, or in progressive mode taken and dialled."""
    campaign = _campaign_or_404(request, pk)
    take = services.contact_take_and_dial if _progressive(campaign) else services.contact_reserve
    try:
        interview = take(campaign=campaign, agent=request.user)
    except ValidationError as error:
        _error(request, error)
        held = selectors.open_interviews(user=request.user).filter(campaign=campaign).first()
        return redirect(_page(held) if held else _desk(campaign))
    if interview is None:
        messages.info(request, _("Nobody is due to be called in this campaign right now."))
        return redirect(_desk(campaign) + "?nobody=1")
    return redirect(_page(interview))


def _back_to(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@require_POST
def pause(request):
    _agent_or_404(request)
    form = PauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why you are pausing."))
    else:
        try:
            session = services.agent_pause(agent=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _error(request, error)
        else:
            if session.pause_asked:
                messages.info(request, _("You will be paused once this contact is finished."))
    return redirect(_back_to(request, reverse("agent:campaigns")))


@require_POST
def resume(request):
    _agent_or_404(request)
    try:
        services.agent_resume(agent=request.user)
    except ValidationError as error:
        _error(request, error)
    return redirect(_back_to(request, reverse("agent:campaigns")))


@require_POST
def sign_out(request):
    _agent_or_404(request)
    try:
        services.agent_sign_out(agent=request.user)
    except ValidationError as error:
        _error(request, error)
    return redirect("agent:campaigns")


# --- the interview page ----------------------------------------------------------------


@dataclass
class AskedItem:
    code: str
    text: str
    answer: str


def _script_context(interview: Interview, user, form=None) -> dict:
    record = interview.response
    version = record.version
    script = script_build(version)
    values = services.placeholder_values(interview, user)

    def fill(text: str) -> str:
        return placeholders_fill(text, values)

    answers = surveys.response_answers(response=record)
    result = walk(script, answers)
    current_code = None
    if record.status == ResponseStatus.IN_PROGRESS:
        current_code = (
            record.current_question.code if record.current_question_id else result.current
        )
    asked = [
        AskedItem(
            code,
            fill(script.question(code).text),
            answer_text(script.question(code), answers[code], fill),
        )
        for code in result.path
        if code in answers and code != current_code
    ]
    current = None
    if current_code is not None:
        spec = script.question(current_code)
        labels = {c.code: fill(c.label) for c in spec.choices}
        if form is None:
            form = AnswerForm(question=spec, labels=labels, initial_value=answers.get(current_code))
        current = {
            "spec": spec,
            "text": fill(spec.text),
            "instruction": fill(spec.instruction),
            "number": (result.path.index(current_code) + 1) if current_code in result.path else 1,
            "can_go_back": result.previous(current_code) is not None,
            "keyed": _keyed_options(form),
        }
    parts = script.parts
    return {
        "stage": {
            ResponseStatus.IN_PROGRESS: "question",
            ResponseStatus.COMPLETED: "closing",
            ResponseStatus.SCREENED_OUT: "screen_out",
        }.get(record.status, "ended"),
        "opening": not answers,
        "greeting": [fill(parts.greeting_salutation), fill(parts.greeting_introduction)],
        "transition": [fill(parts.transition_purpose), fill(parts.transition_cost)],
        "duration": parts.transition_duration_minutes,
        "closing": [
            fill(parts.closing_summary),
            fill(parts.closing_thanks),
            fill(parts.closing_wishes),
        ],
        "asked": asked,
        "current": current,
        "form": form,
        "question_count": len(script.questions),
    }


def _keyed_options(form) -> dict:
    """The answer options with the keys that pick them: choices by position (1, 2, 3…), a
    0-10 score by its number; "don't know" and "refused" by * and -."""
    keyed = {"options": [], "special": []}
    for name in ("choices", "number"):
        if name in form.fields and hasattr(form.fields[name], "choices"):
            for position, option in enumerate(form[name], start=1):
                key = option.data["value"] if name == "number" else str(position)
                keyed["options"].append({"widget": option, "key": key})
    if form.SPECIAL_FIELD in form.fields:
        special_keys = {
            Special.DONT_KNOW: agent_forms.KEY_DONT_KNOW,
            Special.REFUSED: agent_forms.KEY_REFUSED,
        }
        for option in form[form.SPECIAL_FIELD]:
            keyed["special"].append(
                {"widget": option, "key": special_keys.get(option.data["value"], "")}
            )
    return keyed


def _disposition_options(form: DispositionForm, call: dict) -> list[dict]:
    """Each disposition with its key, and whether the call has come far enough for it."""
    reached = {"nothing": True, "dialled": call["dialled"], "connected": call["connected"]}
    return [{**option, "available": reached[option["needs"]]} for option in form.options()]


def _render(request, interview: Interview, *, answer_form=None, disposition_form=None, status=200):
    history = selectors.contact_history(contact=interview.contact, exclude_interview=interview.pk)
    prefetch_related_objects(history["attempts"], audible_prefetch(request.user))
    call = selectors.call_state(interview=interview)
    disposition_form = disposition_form or DispositionForm(
        initial={"disposition": _suggested(interview)}
    )
    sessions.session_seen(agent_id=request.user.pk)
    context = {
        "interview": interview,
        "contact": interview.contact,
        "campaign": interview.campaign,
        "attributes": sorted((interview.contact.attributes or {}).items()),
        "history": history,
        "call": call,
        "disposition_form": disposition_form,
        "disposition_options": _disposition_options(disposition_form, call),
        "holding": interview.is_open and interview.reserved_until is not None,
        "me": _me(request.user),
        "pause_form": PauseForm(),
        "keys": agent_forms,
        "pace": pace.pace_over(ScriptReading.objects.filter(interview=interview)),
        "last_pace": pace.last_reading_pace(interview),
    }
    context.update(_script_context(interview, request.user, answer_form))
    return render(request, "outbound/agent/interview.html", context, status=status)


def _suggested(interview: Interview) -> str:
    status = interview.response.status
    if status == ResponseStatus.COMPLETED:
        return Interview.Disposition.COMPLETED
    if status == ResponseStatus.SCREENED_OUT:
        return Interview.Disposition.NOT_ELIGIBLE
    return ""


@require_GET
def interview_page(request, pk: int):
    return _render(request, _interview_or_404(request, pk))


@require_GET
def interview_call(request, pk: int):
    """The call's live state and the agent's own, for the console's polling."""
    interview = _interview_or_404(request, pk)
    sessions.session_seen(agent_id=request.user.pk)
    data = selectors.call_state(interview=interview)
    me = _me(request.user)
    data["me"] = selectors.board_json([me], viewer=request.user)[0] if me else None
    return JsonResponse(data)


@require_POST
def interview_dial(request, pk: int):
    interview = _interview_or_404(request, pk)
    try:
        services.interview_dial(interview=interview, agent=request.user)
    except ValidationError as error:
        _error(request, error)
    return redirect(_page(interview))


@require_POST
def interview_hang_up(request, pk: int):
    interview = _interview_or_404(request, pk)
    try:
        services.interview_hang_up(interview=interview, agent=request.user)
    except ValidationError as error:
        _error(request, error)
    return redirect(_page(interview))


@require_POST
def interview_answer(request, pk: int):
    interview = _interview_or_404(request, pk)
    record = interview.response
    code = request.POST.get("question", "")
    current = record.current_question.code if record.current_question_id else None
    if record.status != ResponseStatus.IN_PROGRESS or code != current:
        messages.warning(request, _("The script had moved on; here is where it stands now."))
        return redirect(_page(interview))
    script = script_build(record.version)
    spec = script.question(code)
    values = services.placeholder_values(interview, request.user)
    labels = {c.code: placeholders_fill(c.label, values) for c in spec.choices}
    form = AnswerForm(request.POST, question=spec, labels=labels)
    if form.is_valid():
        try:
            services.interview_answer(
                interview=interview,
                agent=request.user,
                question_code=code,
                value=form.value(),
                seconds=seconds_from(request.POST.get("elapsed_ms")),
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            return redirect(_page(interview) + "#script")
    return _render(request, interview, answer_form=form, status=200)


@require_POST
def interview_back(request, pk: int):
    interview = _interview_or_404(request, pk)
    try:
        services.interview_back(interview=interview, agent=request.user)
    except ValidationError as error:
        _error(request, error)
    return redirect(_page(interview) + "#script")


@require_POST
def interview_finish(request, pk: int):
    interview = _interview_or_404(request, pk)
    form = DispositionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.interview_finish(
                interview=interview,
                agent=request.user,
                disposition=data["disposition"],
                notes=data["notes"],
                callback_at=data["callback_at"],
                callback_mine=data["callback_mine"],
                closing_seconds=seconds_from(data["closing_ms"]),
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(
                request,
                _("Recorded as “%(disposition)s”.")
                % {"disposition": Interview.Disposition(data["disposition"]).label},
            )
            return redirect(_desk(interview.campaign))
    return _render(request, interview, disposition_form=form, status=200)


@require_POST
def interview_release(request, pk: int):
    interview = _interview_or_404(request, pk)
    try:
        services.interview_release(interview=interview, agent=request.user)
    except ValidationError as error:
        _error(request, error)
        return redirect(_page(interview))
    messages.info(request, _("The contact went back to the queue."))
    return redirect(_desk(interview.campaign))


# --- the supervisor --------------------------------------------------------------------


def _supervisor_or_404(request) -> None:
    if not selectors.is_supervisor(request.user):
        raise Http404


@require_GET
def supervisor(request):
    _supervisor_or_404(request)
    overview = selectors.supervisor_overview()
    overview["board_states"] = [(state.value, state.label) for state in selectors.BOARD_STATES]
    overview["pace_range"] = (
        settings.WAIHU_SPEECH_CHARS_PER_MINUTE_MIN,
        settings.WAIHU_SPEECH_CHARS_PER_MINUTE_MAX,
    )
    return render(request, "outbound/supervisor/overview.html", overview)


@require_GET
def supervisor_json(request):
    """The agents' states, for the supervisor page's polling."""
    _supervisor_or_404(request)
    overview = selectors.supervisor_overview()
    return JsonResponse(
        {
            "now": timezone.now().isoformat(),
            "agents": selectors.board_json(overview["agents"], viewer=request.user),
            "completes_last_hour": overview["completes_last_hour"],
        }
    )
