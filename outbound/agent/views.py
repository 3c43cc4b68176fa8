"""The agent console: the campaigns an agent works, the next contact, the call and the
script, the disposition; and the supervisor's view of the room. An agent sees only their
own campaigns and interviews (others get 404); every change is a POST."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from outbound.agent import selectors, services
from outbound.agent.forms import DispositionForm
from outbound.models import Interview, WorkOrder
from outbound.recordings.selectors import audible_prefetch
from surveys import services as surveys
from surveys.display import answer_text
from surveys.engine import script_build, walk
from surveys.forms import AnswerForm
from surveys.models import ResponseStatus
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
    return render(
        request,
        "outbound/agent/campaign_list.html",
        {
            "campaigns": selectors.agent_campaigns(user=request.user),
            "holds": selectors.open_interviews(user=request.user),
        },
    )


@require_POST
def campaign_next(request, pk: int):
    campaign = _campaign_or_404(request, pk)
    try:
        interview = services.contact_reserve(campaign=campaign, agent=request.user)
    except ValidationError as error:
        _error(request, error)
        return redirect("agent:campaigns")
    if interview is None:
        messages.info(request, _("Nobody is due to be called in this campaign right now."))
        return redirect("agent:campaigns")
    return redirect(_page(interview))


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


def _render(request, interview: Interview, *, answer_form=None, disposition_form=None, status=200):
    history = selectors.contact_history(contact=interview.contact, exclude_interview=interview.pk)
    prefetch_related_objects(history["attempts"], audible_prefetch(request.user))
    context = {
        "interview": interview,
        "contact": interview.contact,
        "campaign": interview.campaign,
        "attributes": sorted((interview.contact.attributes or {}).items()),
        "history": history,
        "call": selectors.call_state(interview=interview),
        "disposition_form": disposition_form
        or DispositionForm(initial={"disposition": _suggested(interview)}),
        "holding": interview.is_open and interview.reserved_until is not None,
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
    interview = _interview_or_404(request, pk)
    return JsonResponse(selectors.call_state(interview=interview))


@require_POST
def interview_dial(request, pk: int):
    interview = _interview_or_404(request, pk)
    try:
        services.interview_dial(interview=interview, agent=request.user)
    except ValidationError as error:
        _error(request, error)
    else:
        messages.success(request, _("Your phone is ringing: answer it to reach the customer."))
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
                interview=interview, agent=request.user, question_code=code, value=form.value()
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
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(
                request,
                _("Recorded as “%(disposition)s”.")
                % {"disposition": Interview.Disposition(data["disposition"]).label},
            )
            return redirect("agent:campaigns")
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
    return redirect("agent:campaigns")


# --- the supervisor --------------------------------------------------------------------


@require_GET
def supervisor(request):
    if not selectors.is_supervisor(request.user):
        raise Http404
    overview = selectors.supervisor_overview()
    for row in overview["agents"]:
        row["calls"] = [
            (interview, selectors.call_state(interview=interview))
            for interview in row["interviews"]
        ]
    return render(request, "outbound/supervisor/overview.html", overview)
