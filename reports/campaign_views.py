"""A campaign's results: its call outcomes with AAPOR's rates and the calling work by day,
hour and agent, then the per-question tables, satisfaction index and cross-tabs of the
interviews taken in this campaign only.

Who sees it: analysts and outbound administrators every campaign; the requester the
orders they filed; everyone else gets 404."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from outbound.models import Interview, WorkOrder
from outbound.selectors import orders_visible_to
from reports import charts, crosstabs, hooks
from reports.forms import CrosstabForm
from reports.index import SOURCE_ATTRIBUTES, SOURCE_QUESTION, satisfaction_index
from reports.outcomes import CATEGORY_LABELS, FINALS, campaign_outcomes
from reports.results import Results
from reports.selectors import ResultFilters, scope_responses, status_counts
from reports.tables import CLOSED_TYPES, question_tables, version_questions
from reports.views import can_read_results
from surveys.models import Response


def campaigns_readable_by(user) -> QuerySet[WorkOrder]:
    """Every campaign for the readers of results, besides the orders the selector shows
    them; a requester's own orders for everyone else."""
    visible = orders_visible_to(user=user)
    if user.is_superuser or can_read_results(user):
        return WorkOrder.objects.filter(
            Q(pk__in=visible.values("pk")) | Q(run_status=WorkOrder.RunStatus.READY)
        )
    return visible.filter(requester=user)


class CampaignFilterForm(forms.Form):
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

    def values(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {"date_from": None, "date_to": None, "segment": "", "agent": None}
        return self.cleaned_data


def _campaign_responses(
    campaign: WorkOrder, filters: ResultFilters, segment: str
) -> QuerySet[Response]:
    responses = scope_responses(version=campaign.questionnaire, filters=filters).filter(
        interview__campaign=campaign
    )
    if segment:
        responses = responses.filter(interview__contact__segment=segment)
    return responses


def campaign_results_build(*, campaign: WorkOrder, filters: ResultFilters, segment: str = ""):
    """The results of the campaign's own interviews: tables, index and status counts."""
    version = campaign.questionnaire
    responses = _campaign_responses(campaign, filters, segment)
    everyone = _campaign_responses(
        campaign, ResultFilters(**{**filters.as_kwargs(), "statuses": "all"}), segment
    )
    questions = version_questions(version=version)
    tables = question_tables(version=version, responses=responses, questions=questions)
    return Results(
        version=version,
        filters=filters,
        responses=responses,
        questions=questions,
        tables=tables,
        index=satisfaction_index(
            questions=questions, tables=tables, responses=responses, kind=campaign.kind
        ),
        outcomes=status_counts(responses=everyone),
        attributes_available=hooks.attributes_available(),
    )


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


@require_GET
def campaign_results(request, order_pk: int):
    campaign = (
        campaigns_readable_by(request.user)
        .select_related("questionnaire__questionnaire", "requester", "department")
        .filter(pk=order_pk)
        .first()
    )
    if campaign is None:
        raise Http404
    form = CampaignFilterForm(request.GET or None, campaign=campaign)
    chosen = form.values()
    figures = campaign_outcomes(
        campaign=campaign,
        date_from=chosen["date_from"],
        date_to=chosen["date_to"],
        agent=chosen["agent"],
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
    if campaign.questionnaire_id:
        filters = ResultFilters(
            date_from=chosen["date_from"],
            date_to=chosen["date_to"],
            agent_id=chosen["agent"].pk if chosen["agent"] else None,
        )
        built = campaign_results_build(
            campaign=campaign, filters=filters, segment=chosen["segment"] or ""
        )
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
        )
    return render(request, "reports/campaign_results.html", context)
