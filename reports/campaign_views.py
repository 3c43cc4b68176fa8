"""A campaign's results: its call outcomes with AAPOR's rates and the calling work by day,
hour and agent, then the per-question tables, satisfaction index and cross-tabs of the
interviews taken in this campaign only; its four-section analysis; its Excel export.

Who sees it: analysts and outbound administrators every campaign; the requester the
orders they filed; everyone else gets 404. Analysts write the analysis; whoever reads the
results may export them (phone numbers masked unless they may see them)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from outbound.models import Interview, WorkOrder
from outbound.selectors import orders_visible_to
from reports import charts, crosstabs, services
from reports.forms import AnalysisForm, CrosstabForm
from reports.index import SOURCE_ATTRIBUTES, SOURCE_QUESTION
from reports.outcomes import CATEGORY_LABELS, FINALS, campaign_outcomes
from reports.privacy import mask_phones_in_text, may_see_phones
from reports.results import Results, results_build
from reports.selectors import STATUS_SETS, ResultFilters, scope_responses
from reports.tables import CLOSED_TYPES, open_answers
from reports.views import can_read_results
from surveys.models import Question, QuestionType


def campaigns_readable_by(user) -> QuerySet[WorkOrder]:
    """Every campaign for the readers of results, besides the orders the selector shows
    them; a requester's own orders for everyone else."""
    visible = orders_visible_to(user=user)
    if user.is_superuser or can_read_results(user):
        return WorkOrder.objects.filter(
            Q(pk__in=visible.values("pk")) | Q(run_status=WorkOrder.RunStatus.READY)
        )
    return visible.filter(requester=user)


def _campaign(request, order_pk: int) -> WorkOrder:
    campaign = (
        campaigns_readable_by(request.user)
        .select_related("questionnaire__questionnaire", "requester", "department")
        .filter(pk=order_pk)
        .first()
    )
    if campaign is None:
        raise Http404
    return campaign


class CampaignFilterForm(forms.Form):
    statuses = forms.ChoiceField(
        label=gettext_lazy("Interviews"),
        required=False,
        choices=[
            ("completed", gettext_lazy("Completed")),
            ("ended", gettext_lazy("Completed and partial")),
            ("all", gettext_lazy("All")),
        ],
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    segment = forms.ChoiceField(label=gettext_lazy("Segment"), required=False)
    agent = forms.ModelChoiceField(label=gettext_lazy("Agent"), queryset=None, required=False)

    def __init__(self, *args, campaign: WorkOrder, **kwargs):
        super().__init__(*args, **kwargs)
        segments = (
            campaign.contacts.exclude(segment="")
            .order_by("segment")
            .values_list("segment", flat=True)
            .distinct()
        )
        self.fields["segment"].choices = [("", "—"), *((s, s) for s in segments)]
        agents = Interview.objects.filter(campaign=campaign, agent__isnull=False).values("agent")
        self.fields["agent"].queryset = (
            get_user_model()
            .objects.filter(Q(pk__in=agents) | Q(assigned_orders=campaign))
            .distinct()
            .order_by("username")
        )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def to_filters(self) -> ResultFilters:
        if not self.is_bound or not self.is_valid():
            return ResultFilters()
        data = self.cleaned_data
        statuses = data.get("statuses") or "completed"
        return ResultFilters(
            statuses=statuses if statuses in STATUS_SETS else "completed",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            agent_id=data["agent"].pk if data.get("agent") else None,
            segment=data.get("segment") or "",
        )


def _filters(request, campaign: WorkOrder, data=None) -> tuple[CampaignFilterForm, ResultFilters]:
    data = data if data is not None else (request.GET or None)
    form = CampaignFilterForm(data, campaign=campaign)
    return form, form.to_filters()


def _crosstab(request, results: Results):
    rows = [
        (str(q.pk), f"{q.code} {q.text[:40]}") for q in results.questions if q.type in CLOSED_TYPES
    ]
    columns = crosstabs.variable_choices(questions=results.questions)
    form = CrosstabForm(request.GET if "row" in request.GET else None, rows=rows, columns=columns)
    if not (form.is_bound and form.is_valid()):
        return form, None
    row = results.question(int(form.cleaned_data["row"]))
    kind, _sep, key = form.cleaned_data["column"].partition(":")
    column = results.question(int(key)) if kind == "q" else key
    if row is None or column is None:
        return form, None
    return form, crosstabs.crosstab(row=row, column=column, responses=results.responses)


def _count_chart(rows: list[tuple[str, int]], title: str):
    return charts.bar_chart([(label, float(n)) for label, n in rows], title=title, unit="")


def _export_fields(filters: ResultFilters, crosstab_form) -> list[tuple[str, str]]:
    """The hidden fields that carry the page's filters and cross-tab into an export."""
    names = {"agent_id": "agent"}
    fields = [
        (names.get(name, name), str(value))
        for name, value in filters.to_json().items()
        if value and name in ("statuses", "date_from", "date_to", "agent_id", "segment")
    ]
    if crosstab_form is not None and crosstab_form.is_bound and crosstab_form.is_valid():
        fields += [
            ("crosstab_row", crosstab_form.cleaned_data["row"]),
            ("crosstab_column", crosstab_form.cleaned_data["column"]),
        ]
    return fields


@require_GET
def campaign_results(request, order_pk: int):
    campaign = _campaign(request, order_pk)
    form, filters = _filters(request, campaign)
    built = results_build(campaign=campaign, filters=filters) if campaign.questionnaire_id else None
    if built is not None:
        figures = built.calls
    else:
        agent = get_user_model().objects.filter(pk=filters.agent_id).first()
        figures = campaign_outcomes(
            campaign=campaign,
            date_from=filters.date_from,
            date_to=filters.date_to,
            agent=agent if filters.agent_id else None,
        )
    context = {
        "campaign": campaign,
        "form": form,
        "outcomes": figures,
        "mapping": [(label, code, aapor) for _key, label, code, aapor in FINALS],
        "categories": [
            (code, CATEGORY_LABELS[code], getattr(figures.counts, code))
            for code in ("I", "P", "R", "NC", "O", "UH", "UO")
        ],
        "rates_chart": charts.bar_chart(
            [(r.name, r.percent) for r in figures.rates], title=_("Rates")
        ),
        "day_chart": _count_chart(
            [(p.key.isoformat(), p.attempts) for p in figures.by_day], _("Attempts by day")
        ),
        "hour_chart": _count_chart(
            [(f"{p.key:02d}:00", p.attempts) for p in figures.by_hour], _("Attempts by hour")
        ),
        "agent_chart": _count_chart(
            [(a.name, a.completes) for a in figures.by_agent], _("Completes by agent")
        ),
        "query": request.GET.urlencode(),
    }
    if built is not None:
        crosstab_form, crosstab = _crosstab(request, built)
        index = built.index
        context.update(
            results=built,
            version=built.version,
            tables=[(t, charts.table_chart(t)) for t in built.tables],
            index=index,
            index_chart=charts.bar_chart(
                [(s.name, s.score) for s in index.segments], title=_("Satisfaction by segment")
            ),
            source_attributes=index.source == SOURCE_ATTRIBUTES,
            source_question=index.source == SOURCE_QUESTION,
            crosstab_form=crosstab_form,
            crosstab=crosstab,
            can_read_version=can_read_results(request.user),
            export_fields=_export_fields(filters, crosstab_form),
        )
    return render(request, "reports/campaign_results.html", context)


def _with_questionnaire(request, order_pk: int) -> WorkOrder:
    campaign = _campaign(request, order_pk)
    if not campaign.questionnaire_id:
        raise Http404
    return campaign


@require_GET
def campaign_open_answers(request, order_pk: int, question_pk: int):
    campaign = _with_questionnaire(request, order_pk)
    question = get_object_or_404(
        Question, pk=question_pk, version=campaign.questionnaire_id, type=QuestionType.TEXT
    )
    _form, filters = _filters(request, campaign)
    responses = scope_responses(version=campaign.questionnaire, filters=filters, campaign=campaign)
    page = Paginator(open_answers(question=question, responses=responses), 50).get_page(
        request.GET.get("page")
    )
    show = may_see_phones(request.user)
    rows = [(a, a.text if show else mask_phones_in_text(a.text)) for a in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "reports/open_answers.html",
        {
            "campaign": campaign,
            "version": campaign.questionnaire,
            "question": question,
            "page": page,
            "rows": rows,
            "query": params.urlencode(),
        },
    )


@require_http_methods(["GET", "POST"])
def campaign_analysis(request, order_pk: int):
    """The four-section analysis of a campaign: a draft from its figures until an analyst
    saves it; the requester and the other readers read it."""
    campaign = _with_questionnaire(request, order_pk)
    existing = services.analysis_for(work_order=campaign)
    can_write = services.can_write_analysis(request.user)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        form = AnalysisForm(request.POST, instance=existing)
        if form.is_valid():
            services.analysis_save(work_order=campaign, user=request.user, data=form.cleaned_data)
            messages.success(request, _("The analysis was saved."))
            return redirect("campaign_reports:analysis", order_pk=campaign.pk)
    else:
        initial = None
        if existing is None and can_write:
            initial = services.analysis_draft(results=results_build(campaign=campaign))
        form = AnalysisForm(instance=existing, initial=initial)
    return render(
        request,
        "reports/analysis.html",
        {
            "campaign": campaign,
            "version": campaign.questionnaire,
            "form": form,
            "analysis": existing,
            "can_write": can_write,
        },
    )


@require_POST
def campaign_export_start(request, order_pk: int):
    campaign = _with_questionnaire(request, order_pk)
    form, filters = _filters(request, campaign, data=request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or _("Check the filters."))
        return redirect("campaign_reports:results", order_pk=campaign.pk)
    wanted = []
    row, column = request.POST.get("crosstab_row", ""), request.POST.get("crosstab_column", "")
    if row.isdigit() and column:
        wanted.append((int(row), column))
    job = services.export_request(
        version=campaign.questionnaire,
        work_order=campaign,
        user=request.user,
        filters=filters,
        crosstabs=wanted,
    )
    return redirect("reports:export_detail", pk=job.pk)
