"""The monthly report on the satisfaction index: built on the first working day of each month
(the working calendar of approvals, official holidays and make-up days included) for the
month before, kept as figures so earlier months read as they were sent, drafted in four
sections (background, data analysis, analysis of the main content, suggestions) in the
reader's language, given as a workbook and a printable page, and e-mailed to the
subscribed leaders."""

from __future__ import annotations

import datetime
import io

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from reports import indicators
from reports.indicators import Change, Figure, Period, add_months, indicator_label
from reports.models import MonthlyCount, MonthlyReport, ReportSubscription


def _figure(fig: Figure) -> dict:
    return {
        "percent": fig.percent,
        "low": fig.low,
        "high": fig.high,
        "n": fig.n,
        "small": fig.small,
    }


def _change(change: Change) -> dict:
    return {"points": change.points, "p": change.p_value, "significant": change.significant}


def snapshot(month: datetime.date) -> dict:
    """The month's figures, as JSON."""
    board = indicators.dashboard(Period(month), trend_periods=1)
    rows = []
    for row in board.rows:
        rows.append(
            {
                "code": row.indicator.code,
                "name": row.indicator.name,
                "level": row.level,
                **_figure(row.figure),
                "previous": _change(row.previous),
                "year_before": _change(row.year_before),
                "competitor": row.competitor,
                "competitor_percent": row.competitor_percent,
                "lead": row.lead,
                "target": row.target,
                "gap": row.gap,
            }
        )
    campaigns = (
        MonthlyCount.objects.filter(month=month, indicator_id=indicators.INTERVIEWS)
        .values("campaign_id")
        .distinct()
        .count()
    )
    complaint = board.complaint
    return {
        "month": f"{month:%Y-%m}",
        "index": _figure(board.index.figure),
        "previous": _change(board.index.previous),
        "year_before": _change(board.index.year_before),
        "rows": rows,
        "weak": [row.indicator.code for row in board.weak],
        "complaint": {
            **(_figure(complaint) if complaint else {"percent": None, "n": 0}),
            "target": board.complaint_target,
            "met": board.complaint_met,
        },
        "campaigns": campaigns,
    }


def report_build(month: datetime.date) -> MonthlyReport:
    """Recount the month (and the one before, for the change) and keep its report."""
    month = indicators.month_start(month)
    for m in (add_months(month, -1), month):
        indicators.monthly_rebuild(m)
    report, _created = MonthlyReport.objects.update_or_create(
        month=month, defaults={"figures": snapshot(month), "built_at": timezone.now()}
    )
    return report


# --- the text, drafted from the figures -------------------------------------------------------


def _pct(value) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _change_text(change: dict, since: str) -> str:
    if change.get("points") is None:
        return _("no comparison with %(since)s (no figures)") % {"since": since}
    verdict = _("significant") if change["significant"] else _("not significant")
    return _("%(points)+.1f points on %(since)s (%(verdict)s, p = %(p).3f)") % {
        "points": change["points"],
        "since": since,
        "verdict": verdict,
        "p": change["p"],
    }


def sections(figures: dict) -> list[tuple[str, list[str]]]:
    """The four sections as (title, paragraphs), in the active language."""
    index = figures["index"]
    month = figures["month"]
    background = [
        _(
            "This report covers the satisfaction interviews completed in %(month)s: "
            "%(n)s interviews of %(campaigns)s campaigns, weighted by brand."
        )
        % {"month": month, "n": index["n"], "campaigns": figures["campaigns"]}
    ]
    data = []
    if index["percent"] is None:
        data.append(_("No interview of the month answered an item of the indicator tree."))
    else:
        data.append(
            _(
                "The satisfaction index is %(index)s (95%% confidence interval %(low)s to "
                "%(high)s, %(n)s interviews): %(previous)s; %(year)s."
            )
            % {
                "index": _pct(index["percent"]),
                "low": _pct(index["low"]),
                "high": _pct(index["high"]),
                "n": index["n"],
                "previous": _change_text(figures["previous"], _("last month")),
                "year": _change_text(figures["year_before"], _("the same month last year")),
            }
        )
        if index["small"]:
            data.append(_("The base is under 30 interviews: read the figures with care."))
    complaint = figures["complaint"]
    if complaint.get("percent") is not None and complaint.get("target") is not None:
        met = _("target met") if complaint["met"] else _("target missed")
        data.append(
            _(
                "Complaint-callback satisfaction: %(value)s against a target of %(target)s "
                "(%(met)s)."
            )
            % {"value": _pct(complaint["percent"]), "target": _pct(complaint["target"]), "met": met}
        )
    content = []
    for row in figures["rows"]:
        if row["level"] > 2 or row["percent"] is None:
            continue
        text = _("%(name)s: %(value)s (%(n)s answers)") % {
            "name": indicator_label(row["name"]),
            "value": _pct(row["percent"]),
            "n": row["n"],
        }
        if row["lead"] is not None:
            text += "; " + _("%(lead)+.1f points on %(competitor)s") % {
                "lead": row["lead"],
                "competitor": row["competitor"],
            }
        if row["small"]:
            text += "; " + _("base under 30")
        content.append(text + ".")
    if not content:
        content.append(_("No indicator has figures this month."))
    by_code = {row["code"]: row for row in figures["rows"]}
    suggestions = []
    for code in figures["weak"]:
        row = by_code[code]
        suggestions.append(
            _(
                "Improve %(name)s first: %(gap).1f points below its target or the strongest "
                "competitor."
            )
            % {"name": indicator_label(row["name"]), "gap": -row["gap"]}
        )
    if not suggestions:
        suggestions.append(_("No indicator is below its target or the strongest competitor."))
    return [
        (_("Project background"), background),
        (_("Data analysis"), data),
        (_("Analysis of the main content"), content),
        (_("Actionable suggestions"), suggestions),
    ]


def workbook(report: MonthlyReport) -> bytes:
    """The report as a workbook: the four sections, then the indicators' figures."""
    figures = report.figures
    book = Workbook()
    sheet = book.active
    sheet.title = _("Report")[:31]
    sheet.append([_("Satisfaction index, %(month)s") % {"month": figures["month"]}])
    sheet["A1"].font = Font(bold=True, size=14)
    for title, paragraphs in sections(figures):
        sheet.append([])
        sheet.append([title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        for text in paragraphs:
            sheet.append([text])
    sheet.column_dimensions["A"].width = 120
    table = book.create_sheet(_("Indicators")[:31])
    table.append(
        [
            _("Indicator"),
            _("Level"),
            _("Score (%)"),
            _("95% CI low"),
            _("95% CI high"),
            _("Base"),
            _("Base under 30"),
            _("Change on last month (points)"),
            _("p-value"),
            _("Change on last year (points)"),
            _("p-value"),
            _("Strongest competitor"),
            _("Competitor's score (%)"),
            _("Lead (points)"),
            _("Target (%)"),
        ]
    )
    for cell in table[1]:
        cell.font = Font(bold=True)
    index = {"name": _("Satisfaction index"), "level": 0, **figures["index"]}
    index.update(previous=figures["previous"], year_before=figures["year_before"])
    for row in [index, *figures["rows"]]:
        table.append(
            [
                indicator_label(row["name"]),
                row["level"] or "",
                row["percent"],
                row["low"],
                row["high"],
                row["n"],
                _("yes") if row["small"] else "",
                row["previous"]["points"],
                row["previous"]["p"],
                row["year_before"]["points"],
                row["year_before"]["p"],
                row.get("competitor", ""),
                row.get("competitor_percent"),
                row.get("lead"),
                row.get("target"),
            ]
        )
    for column in ("C", "D", "E", "H", "J", "M", "N", "O"):
        for cell in table[column][1:]:
            cell.number_format = "0.0"
    for column in ("I", "K"):
        for cell in table[column][1:]:
            cell.number_format = "0.000"
    table.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(report: MonthlyReport) -> str:
    return f"satisfaction-index-{report.month:%Y-%m}.xlsx"


def report_send(report: MonthlyReport) -> int:
    """E-mail the report to each subscribed leader, in their language; returns how many."""
    sent = 0
    subscribers = ReportSubscription.objects.select_related("user").filter(user__is_active=True)
    for subscription in subscribers:
        user = subscription.user
        if not user.email:
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            body = "\n\n".join(
                f"{title}\n" + "\n".join(paragraphs)
                for title, paragraphs in sections(report.figures)
            )
            message = EmailMessage(
                subject=_("Satisfaction index, %(month)s") % {"month": report.figures["month"]},
                body=body,
                to=[user.email],
            )
            message.attach(
                filename(report),
                workbook(report),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        message.send()
        sent += 1
    MonthlyReport.objects.filter(pk=report.pk).update(sent_at=timezone.now())
    return sent


def first_working_day(month: datetime.date) -> datetime.date:
    """The first working day of the month, by the working calendar."""
    from approvals.calendar import WorkingCalendar

    calendar = WorkingCalendar.load(month)
    day = month
    while not calendar.is_working_day(day):
        day += datetime.timedelta(days=1)
    return day


def monthly_report_due(today: datetime.date | None = None) -> MonthlyReport | None:
    """From the first working day of a month on, build last month's report and send it,
    once: a day the beat missed (a worker down) is caught up the next day."""
    today = today or timezone.localdate()
    if today < first_working_day(today.replace(day=1)):
        return None
    month = add_months(today.replace(day=1), -1)
    if MonthlyReport.objects.filter(month=month, sent_at__isnull=False).exists():
        return None
    with transaction.atomic():
        existing = MonthlyReport.objects.select_for_update().filter(month=month).first()
        if existing is not None and existing.sent_at is not None:
            return None
        report = report_build(month)
        report_send(report)
    report.refresh_from_db()
    return report
