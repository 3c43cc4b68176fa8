"""The leaders' page: the branch's satisfaction index over time, its indicators, the drill
down to campaigns and questions, and the monthly reports.

Who reads it: the customer-service centre leader and the customer-service department leader
(the branch is measured on the index), the analysts (who write the analyses) and the
outbound administrators (who run the campaigns behind it). The figures are the whole
branch's, not one department's, so nobody else opens it."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET

from accounts.roles import Role
from outbound.models import WorkOrder
from reports import indicators, monthly, trend
from reports.index import SEGMENT_NAMES
from reports.indicators import Period
from reports.models import Indicator, MonthlyCount, MonthlyReport, SegmentWeight
from reports.views import can_read_results

LEADER_ROLES = (Role.CS_CENTRE_LEADER, Role.CS_DEPARTMENT_LEADER, Role.ANALYST, Role.OUTBOUND_ADMIN)
_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


def can_read_leaders_page(user) -> bool:
    return user.is_authenticated and user.has_role(*LEADER_ROLES)


def _guard(request) -> None:
    if not can_read_leaders_page(request.user):
        raise PermissionDenied


_SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})


class LeaderFilterForm(forms.Form):
    period = forms.CharField(
        label=gettext_lazy("Month or quarter"),
        required=False,
        help_text=gettext_lazy("Such as 2025-03 or 2025-Q1."),
    )
    segment = forms.ChoiceField(label=gettext_lazy("Brand"), required=False, widget=_SELECT)
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False, widget=_SELECT)
    kind = forms.ChoiceField(label=gettext_lazy("Kind of campaign"), required=False, widget=_SELECT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = [("", _("All"))]
        self.fields["segment"].choices = everyone + [
            (w.name, pgettext("segment", w.name) if w.name in SEGMENT_NAMES else w.name)
            for w in SegmentWeight.objects.all()
        ]
        regions = (
            MonthlyCount.objects.exclude(region="")
            .order_by("region")
            .values_list("region", flat=True)
            .distinct()
        )
        self.fields["region"].choices = everyone + [(r, r) for r in regions]
        self.fields["kind"].choices = everyone + list(WorkOrder.Kind.choices)

    def clean_period(self) -> Period:
        raw = self.cleaned_data["period"].strip().upper()
        if not raw:
            return Period.of(timezone.localdate())
        match = _PERIOD.match(raw)
        if not match:
            raise forms.ValidationError(
                _("Write a month as 2025-03 or a quarter as 2025-Q1."), code="invalid"
            )
        year, month, quarter = match.groups()
        if quarter:
            return Period(datetime.date(int(year), (int(quarter) - 1) * 3 + 1, 1), True)
        return Period(datetime.date(int(year), int(month), 1))


def _filters(request) -> tuple[LeaderFilterForm, dict, Period | None]:
    form = LeaderFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, {}, None
    if not request.GET:
        return form, {}, Period.of(timezone.localdate())
    data = form.cleaned_data
    return form, {k: data[k] for k in ("segment", "region", "kind")}, data["period"]


def _query(period: Period, filters: dict) -> str:
    return urlencode({"period": period.key, **{k: v for k, v in filters.items() if v}})


@login_required
@require_GET
def leaders_dashboard(request):
    _guard(request)
    form, filters, period = _filters(request)
    if period is None:
        return render(request, "reports/leaders/dashboard.html", {"form": form}, status=400)
    board = indicators.dashboard(period, **filters)
    labels = [p.key for p, _fig, _levels in board.trend]
    lines = [(_("Satisfaction index"), [fig.percent for _p, fig, _l in board.trend])]
    for node in indicators.Tree().index.children:
        lines.append(
            (node.indicator.label, [levels[node.key].percent for _p, _f, levels in board.trend])
        )
    chart = trend.line_chart(labels, lines, title=_("Satisfaction index over time"))
    context = {
        "form": form,
        "board": board,
        "chart": chart,
        "query": _query(period, filters),
        "reports": MonthlyReport.objects.all()[:24],
    }
    return render(request, "reports/leaders/dashboard.html", context)


@login_required
@require_GET
def leaders_indicator(request, pk: int):
    _guard(request)
    indicator = get_object_or_404(Indicator, pk=pk)
    form, filters, period = _filters(request)
    if period is None:
        return render(request, "reports/leaders/dashboard.html", {"form": form}, status=400)
    tree = indicators.Tree()
    node = tree.node(indicator.pk)
    if node is None:
        raise Http404
    board = indicators.dashboard(period, trend_periods=1, **filters)
    row = next(r for r in board.rows if r.node.key == node.key)
    children = [r for r in board.rows if r.indicator.parent_id == indicator.pk]
    campaigns = indicators.campaigns_of(node, period, **filters)
    chosen = next((c for c in campaigns if str(c.campaign_id) == request.GET.get("campaign")), None)
    context = {
        "indicator": indicator,
        "chosen": chosen,
        "question_rows": indicators.question_table(node, period, chosen.campaign_id)
        if chosen
        else [],
        "can_read_campaigns": can_read_results(request.user),
        "row": row,
        "children": children,
        "campaigns": campaigns,
        "query": _query(period, filters),
        "period": period,
    }
    return render(request, "reports/leaders/indicator.html", context)


@login_required
@require_GET
def leaders_report(request, pk: int):
    _guard(request)
    report = get_object_or_404(MonthlyReport, pk=pk)
    context = {"report": report, "sections": monthly.sections(report.figures)}
    return render(request, "reports/leaders/report.html", context)


@login_required
@require_GET
def leaders_report_download(request, pk: int):
    _guard(request)
    report = get_object_or_404(MonthlyReport, pk=pk)
    response = HttpResponse(
        monthly.workbook(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{monthly.filename(report)}"'
    return response
