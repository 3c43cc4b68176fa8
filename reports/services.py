"""Writes of reports: the four-section analysis and the Excel export jobs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.roles import Role
from reports.models import Analysis, ExportJob
from reports.privacy import may_see_phones
from reports.results import Results
from reports.selectors import ResultFilters
from surveys.models import QuestionnaireVersion, QuestionType, ResponseStatus


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def analysis_draft(*, results: Results) -> dict[str, str]:
    """The sections pre-filled from the figures; the suggestions are the analyst's own."""
    version = results.version
    span = results.responses.aggregate(first=Min("started_at"), last=Max("started_at"))
    first, last = span["first"], span["last"]
    period = (
        _(", taken from %(first)s to %(last)s")
        % {
            "first": date_format(timezone.localtime(first), "SHORT_DATE_FORMAT"),
            "last": date_format(timezone.localtime(last), "SHORT_DATE_FORMAT"),
        }
        if first and last
        else ""
    )
    if results.campaign is not None:
        background = _campaign_background(results, period)
    else:
        background = _(
            "Questionnaire “%(name)s”, version %(number)s. %(purpose)s %(count)s interviews "
            "are analysed%(period)s."
        ) % {
            "name": version.questionnaire.name,
            "number": version.number,
            "purpose": version.transition_purpose,
            "count": results.interviews,
            "period": period,
        }
    outcomes = results.outcomes
    started = results.started
    lines = _call_lines(results.calls) if results.calls is not None else []
    lines.append(
        _("%(started)s interviews were started: %(completed)s completed (%(share)s).")
        % {
            "started": started,
            "completed": results.completed,
            "share": _pct(100 * results.completed / started if started else None),
        }
    )
    for status, label in ResponseStatus.choices:
        if status != ResponseStatus.COMPLETED and outcomes.get(status):
            lines.append(f"{label}: {outcomes[status]}")
    if results.index.index is not None:
        lines.append(_("Satisfaction index: %(index)s.") % {"index": _pct(results.index.index)})
        for target in results.index.targets:
            lines.append(
                _("Target for %(kind)s: %(target)s%%, %(verdict)s.")
                % {
                    "kind": target.label,
                    "target": target.percent,
                    "verdict": _("reached") if target.met else _("not reached"),
                }
            )
    content = []
    if results.index.items:
        content.append(
            _("Strongest items: %(items)s.")
            % {
                "items": "; ".join(
                    f"{i.question.code} {i.question.text} ({_pct(i.percent)})"
                    for i in results.index.strongest
                )
            }
        )
        content.append(
            _("Weakest items: %(items)s.")
            % {
                "items": "; ".join(
                    f"{i.question.code} {i.question.text} ({_pct(i.percent)})"
                    for i in results.index.weakest
                )
            }
        )
    for table in results.tables:
        if table.question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE) and table.valid:
            top = max(table.rows, key=lambda r: r.count)
            content.append(
                _("%(code)s %(text)s: most often “%(label)s” (%(share)s of %(base)s).")
                % {
                    "code": table.question.code,
                    "text": table.question.text,
                    "label": top.label,
                    "share": _pct(top.percent),
                    "base": table.valid,
                }
            )
    return {
        "background": background,
        "data_analysis": "\n".join(lines),
        "content_analysis": "\n".join(content),
        "suggestions": "",
    }


def _campaign_background(results: Results, period: str) -> str:
    """The project background of a campaign, from its work order."""
    order = results.campaign
    version = results.version
    parts = [
        _("Work order “%(title)s” (%(kind)s), filed by %(requester)s of %(department)s.")
        % {
            "title": order.title,
            "kind": order.get_kind_display(),
            "requester": str(order.requester),
            "department": order.department,
        },
        order.background.strip(),
        _("Purpose: %(purpose)s") % {"purpose": order.purpose.strip()},
        _("Target customers: %(target)s") % {"target": order.target_description.strip()},
        _("Calls from %(start)s to %(end)s (%(mode)s); %(expected)s contacts expected.")
        % {
            "start": date_format(order.planned_start or order.desired_start, "SHORT_DATE_FORMAT"),
            "end": date_format(order.planned_end or order.desired_end, "SHORT_DATE_FORMAT"),
            "mode": order.get_mode_display(),
            "expected": order.expected_contacts,
        },
        _(
            "Questionnaire “%(name)s”, version %(number)s. %(count)s interviews are "
            "analysed%(period)s."
        )
        % {
            "name": version.questionnaire.name,
            "number": version.number,
            "count": results.interviews,
            "period": period,
        },
    ]
    return "\n".join(part for part in parts if part)


def _call_lines(calls) -> list[str]:
    """The data analysis of a campaign's calling: contacts, attempts, outcomes and rates."""
    lines = [
        _(
            "%(contacts)s contacts, %(attempts)s calls placed, %(reached)s contacts reached; "
            "%(per_complete)s calls per completed interview."
        )
        % {
            "contacts": calls.contacts,
            "attempts": calls.attempts,
            "reached": calls.reached,
            "per_complete": (
                "–" if calls.attempts_per_complete is None else f"{calls.attempts_per_complete:.1f}"
            ),
        },
        _(
            "Completed %(completed)s, partial %(partial)s, refused %(refused)s, no answer "
            "%(no_answer)s, busy %(busy)s, invalid or wrong number %(invalid)s, do not call "
            "%(dnc)s."
        )
        % {
            "completed": calls.completed,
            "partial": calls.partial,
            "refused": calls.refused,
            "no_answer": calls.no_answer,
            "busy": calls.busy,
            "invalid": calls.invalid,
            "dnc": calls.do_not_call,
        },
        "; ".join(f"{rate.name} {_pct(rate.percent)}" for rate in calls.rates) + ".",
    ]
    return lines


def analysis_for(*, version: QuestionnaireVersion | None = None, work_order=None):
    """The saved analysis of a campaign (a work order), or of a version's interviews."""
    if work_order is not None:
        return Analysis.objects.filter(work_order=work_order).first()
    return Analysis.objects.filter(version=version, work_order__isnull=True).first()


def can_write_analysis(user) -> bool:
    return user.has_role(Role.ANALYST)


def analysis_save(
    *,
    version: QuestionnaireVersion | None = None,
    work_order=None,
    user: Any,
    data: dict[str, str],
) -> Analysis:
    """Create or update the analysis of a campaign (work_order) or of a version's results."""
    if not can_write_analysis(user):
        raise PermissionDenied
    fields = {name: (data.get(name) or "").strip() for name in Analysis.SECTIONS}
    scope = (
        {"version": None, "work_order": work_order}
        if work_order is not None
        else {"version": version, "work_order": None}
    )
    with transaction.atomic():
        analysis, _created = Analysis.objects.select_for_update().update_or_create(
            **scope, defaults={**fields, "updated_by": user}
        )
    return analysis


def export_request(
    *,
    version: QuestionnaireVersion,
    user: Any,
    filters: ResultFilters,
    crosstabs: list[tuple[int, str]] | None = None,
    work_order=None,
) -> ExportJob:
    """Queue the workbook of a version's results, or of a campaign's (work_order) when one
    is given; the task starts once this commits."""
    from ops.outbox import enqueue
    from reports.tasks import export_build_task

    with transaction.atomic():
        job = ExportJob.objects.create(
            version=version,
            work_order=work_order,
            created_by=user,
            show_phones=may_see_phones(user),
            options={
                "filters": filters.to_json(),
                "crosstabs": [[int(r), str(c)] for r, c in (crosstabs or [])],
            },
        )
        enqueue(export_build_task, job.pk)
    return job
