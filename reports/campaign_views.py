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
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from outbound.models import Interview, WorkOrder
from outbound.selectors import orders_visible_to
from reports import charts, services
from reports.db import analytics_view
from reports.forms import BaseFilterForm
from reports.index import SOURCE_ATTRIBUTES, SOURCE_QUESTION
from reports.outcomes import CATEGORY_LABELS, FINALS, campaign_outcomes
from reports.results import results_build
from reports.selectors import ResultFilters, scope_responses
from reports.views import (
    can_read_results,
    render_analysis,
    render_computing,
    render_open_answers,
    results_for_page,
)
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


class CampaignFilterForm(BaseFilterForm):
    segment = forms.ChoiceField(label=gettext_lazy("Segment"), required=False)

    def __init__(self, *args, campaign: WorkOrder, **kwargs):
        agents = Interview.objects.filter(campaign=campaign, agent__isnull=False).values("agent")
        super().__init__(
            *args,
            agents=get_user_model()
            .objects.filter(Q(pk__in=agents) | Q(assigned_orders=campaign))
            .distinct()
            .order_by("username"),
            **kwargs,
        )
        segments = (
            campaign.contacts.exclude(segment="")
            .order_by("segment")
            .values_list("segment", flat=True)
            .distinct()
        )
        self.fields["segment"].choices = [("", "—"), *((s, s) for s in segments)]

    def to_filters(self) -> ResultFilters:
        if not self.is_bound or not self.is_valid():
            return ResultFilters()
        return ResultFilters(
            **self.common_filters(), segment=self.cleaned_data.get("segment") or ""
        )


def _filters(request, campaign: WorkOrder, data=None) -> tuple[CampaignFilterForm, ResultFilters]:
    data = data if data is not None else (request.GET or None)
    form = CampaignFilterForm(data, campaign=campaign)
    return form, form.to_filters()


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
@analytics_view
def campaign_results(request, order_pk: int):
    campaign = _campaign(request, order_pk)
    form, filters = _filters(request, campaign)
    built = crosstab_form = crosstab = computed_row = None
    if campaign.questionnaire_id:
        built, crosstab_form, crosstab, computed_row = results_for_page(
            request, version=campaign.questionnaire, filters=filters, campaign=campaign
        )
        if built is None:
            return render_computing(
                request,
                row=computed_row,
                back=campaign.get_absolute_url(),
                title=campaign.title,
            )
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
        index = built.index
        context.update(
            results=built,
            version=built.version,
            tables=[(t, charts.table_chart(t)) for t in built.tables],
            index=index,
            index_chart=charts.bar_chart(
                [(s.label, s.score) for s in index.segments], title=_("Satisfaction by segment")
            ),
            source_attributes=index.source == SOURCE_ATTRIBUTES,
            source_question=index.source == SOURCE_QUESTION,
            crosstab_form=crosstab_form,
            crosstab=crosstab,
            can_read_version=can_read_results(request.user),
            export_fields=_export_fields(filters, crosstab_form),
            computed=computed_row,
            here=request.get_full_path(),
        )
    return render(request, "reports/campaign_results.html", context)


def _with_questionnaire(request, order_pk: int) -> WorkOrder:
    campaign = _campaign(request, order_pk)
    if not campaign.questionnaire_id:
        raise Http404
    return campaign


@require_GET
@analytics_view
def campaign_open_answers(request, order_pk: int, question_pk: int):
    campaign = _with_questionnaire(request, order_pk)
    question = get_object_or_404(
        Question, pk=question_pk, version=campaign.questionnaire_id, type=QuestionType.TEXT
    )
    _form, filters = _filters(request, campaign)
    responses = scope_responses(version=campaign.questionnaire, filters=filters, campaign=campaign)
    return render_open_answers(
        request,
        question=question,
        responses=responses,
        context={"campaign": campaign, "version": campaign.questionnaire},
    )


@require_http_methods(["GET", "POST"])
@analytics_view
def campaign_analysis(request, order_pk: int):
    """The four-section analysis of a campaign: a draft from its figures until an analyst
    saves it; the requester and the other readers read it."""
    campaign = _with_questionnaire(request, order_pk)
    return render_analysis(
        request,
        existing=services.analysis_for(work_order=campaign),
        save=lambda data: services.analysis_save(work_order=campaign, user=request.user, data=data),
        draft=lambda: services.analysis_draft(results=results_build(campaign=campaign)),
        done_url=reverse("campaign_reports:analysis", args=[campaign.pk]),
        context={"campaign": campaign, "version": campaign.questionnaire},
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
