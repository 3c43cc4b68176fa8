"""Results pages, the analysis and Excel exports.

Who sees what: analysts and outbound administrators read the results of every published
version; everyone else gets 403 (requesters read their own campaigns' results, analysis
and exports through reports.campaign_views). Only analysts write the analysis. An export
job is seen only by the one who asked for it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit import AuditAction, audit_record
from accounts.roles import Role
from config.downloads import download_name
from outbound.recordings.selectors import audible_by_response, spoken_by_response
from reports import charts, computed, crosstabs, hooks, selectors, services
from reports.db import analytics_view
from reports.forms import AnalysisForm, CrosstabForm, ResultFilterForm
from reports.index import SOURCE_ATTRIBUTES, SOURCE_QUESTION
from reports.models import ComputedResults, ComputedStatus, ExportJob, ExportStatus
from reports.privacy import may_see_phones, text_for
from reports.results import results_build
from reports.selectors import ResultFilters
from reports.tables import CLOSED_TYPES, open_answers, version_questions
from surveys.models import Question, QuestionnaireVersion, QuestionType, VersionStatus


def can_read_results(user) -> bool:
    return user.has_role(Role.ANALYST, Role.OUTBOUND_ADMIN)


def _require_reader(request) -> None:
    if not can_read_results(request.user):
        raise PermissionDenied


def _version(pk: int) -> QuestionnaireVersion:
    return get_object_or_404(
        QuestionnaireVersion.objects.select_related("questionnaire"),
        pk=pk,
        status=VersionStatus.PUBLISHED,
    )


def _filters(request, version) -> tuple[ResultFilterForm, ResultFilters]:
    form = ResultFilterForm(request.GET or None, agents=selectors.version_agents(version=version))
    return form, form.to_filters() if form.is_bound else ResultFilters()


@require_GET
@analytics_view
def version_list(request):
    """The results index: the campaigns with a questionnaire, newest first, then every
    published version with its interviews."""
    _require_reader(request)
    from django.db.models import Count

    from outbound.models import Interview
    from outbound.selectors import imported_counts
    from reports.campaign_views import campaigns_readable_by

    campaigns = (
        campaigns_readable_by(request.user)
        .filter(questionnaire__isnull=False)
        .select_related("questionnaire__questionnaire")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(campaigns, 50).get_page(request.GET.get("page"))
    # Counted for the page's campaigns only, one GROUP BY each.
    contacts = imported_counts(orders=page.object_list)
    completed = dict(
        Interview.objects.filter(
            campaign_id__in=[c.pk for c in page.object_list], disposition="completed"
        )
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
    for campaign in page.object_list:
        campaign.contact_count = contacts.get(campaign.pk, 0)
        campaign.completed_count = completed.get(campaign.pk, 0)
    return render(
        request,
        "reports/version_list.html",
        {"versions": selectors.result_versions(), "campaigns": page.object_list, "page": page},
    )


def crosstab_choice(request, questions) -> tuple[CrosstabForm, int | None, str]:
    """The cross-tab form of a results page, and the row and column chosen in it."""
    rows = [(str(q.pk), f"{q.code} {q.text[:40]}") for q in questions if q.type in CLOSED_TYPES]
    columns = crosstabs.variable_choices(questions=questions)
    data = request.GET if "row" in request.GET else None
    form = CrosstabForm(data, rows=rows, columns=columns)
    if form.is_bound and form.is_valid():
        return form, int(form.cleaned_data["row"]), form.cleaned_data["column"]
    return form, None, ""


def crosstab_from_request(request, results):
    """The cross-tab form of a results page and, once a row and a column are chosen, the
    table."""
    form, row_pk, column_key = crosstab_choice(request, results.questions)
    table = None
    if row_pk is not None:
        row = results.question(row_pk)
        kind, _sep, key = column_key.partition(":")
        column = results.question(int(key)) if kind == "q" else key
        if row is not None and column is not None:
            table = crosstabs.crosstab(
                row=row, column=column, responses=results.responses, kept=results.kept
            )
    return form, table


def results_for_page(request, *, version, filters, campaign=None):
    """(results, cross-tab form, cross-tab, computed row) of a results page; results is None
    while a task computes them (the row says how far it is)."""
    if not computed.in_background(version=version, filters=filters, campaign=campaign):
        built = results_build(
            version=None if campaign else version, filters=filters, campaign=campaign
        )
        form, table = crosstab_from_request(request, built)
        return built, form, table, None
    form, row_pk, column_key = crosstab_choice(request, version_questions(version=version))
    row = computed.computed_request(
        version=version,
        campaign=campaign,
        wanted=computed.Wanted(filters=filters, row=row_pk, column=column_key),
    )
    if row.figures is None:
        return None, form, None, row
    built, table = computed.computed_results(row)
    return built, form, table, row


def render_computing(request, *, row, back: str, title: str):
    return render(
        request,
        "reports/computing.html",
        {"computed": row, "back": back, "title": title, "here": request.get_full_path()},
    )


@require_GET
@analytics_view
def results(request, pk: int):
    _require_reader(request)
    version = _version(pk)
    form, filters = _filters(request, version)
    built, crosstab_form, crosstab, computed_row = results_for_page(
        request, version=version, filters=filters
    )
    if built is None:
        return render_computing(
            request,
            row=computed_row,
            back=reverse("reports:version_list"),
            title=f"{version.questionnaire.name} v{version.number}",
        )
    index = built.index
    return render(
        request,
        "reports/results.html",
        {
            "version": version,
            "results": built,
            "form": form,
            "crosstab_form": crosstab_form,
            "crosstab": crosstab,
            "tables": [(t, charts.table_chart(t)) for t in built.tables],
            "index": index,
            "index_chart": charts.bar_chart(
                [(s.label, s.score) for s in index.segments], title=_("Satisfaction by segment")
            ),
            "source_attributes": index.source == SOURCE_ATTRIBUTES,
            "source_question": index.source == SOURCE_QUESTION,
            "attributes_available": hooks.attributes_available(),
            "query": request.GET.urlencode(),
            "filters_json": filters.to_json(),
            "can_write": services.can_write_analysis(request.user),
            "analysis": services.analysis_for(version=version),
            "computed": computed_row,
            "here": request.get_full_path(),
        },
    )


def render_open_answers(request, *, question, responses, context: dict):
    """A page of a text question's answers among the responses, masked for those who may
    not see phone numbers."""
    page = Paginator(open_answers(question=question, responses=responses), 50).get_page(
        request.GET.get("page")
    )
    rows = [(a, text_for(request.user, a.text)) for a in page.object_list]
    response_ids = [a.response_id for a, _t in rows]
    heard = audible_by_response(user=request.user, response_ids=response_ids)
    spoken = spoken_by_response(
        user=request.user, question_id=question.pk, response_ids=response_ids
    )
    for answer, _text in rows:
        answer.audible_recordings = heard.get(answer.response_id, [])
        answer.spoken = spoken.get(answer.response_id)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "reports/open_answers.html",
        {**context, "question": question, "page": page, "rows": rows, "query": params.urlencode()},
    )


@require_GET
@analytics_view
def open_answer_list(request, pk: int, question_pk: int):
    _require_reader(request)
    version = _version(pk)
    question = get_object_or_404(Question, pk=question_pk, version=version, type=QuestionType.TEXT)
    _form, filters = _filters(request, version)
    responses = selectors.scope_responses(version=version, filters=filters)
    return render_open_answers(
        request, question=question, responses=responses, context={"version": version}
    )


def render_analysis(request, *, existing, save, draft, done_url: str, context: dict):
    """The analysis page: analysts edit a draft (written by `draft()` until one is saved)
    and save it with `save(data)`; other readers read what was saved."""
    can_write = services.can_write_analysis(request.user)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        form = AnalysisForm(request.POST, instance=existing)
        if form.is_valid():
            save(form.cleaned_data)
            messages.success(request, _("The analysis was saved."))
            return redirect(done_url)
    else:
        initial = draft() if existing is None and can_write else None
        form = AnalysisForm(instance=existing, initial=initial)
    return render(
        request,
        "reports/analysis.html",
        {**context, "form": form, "analysis": existing, "can_write": can_write},
    )


@require_http_methods(["GET", "POST"])
@analytics_view
def analysis(request, pk: int):
    _require_reader(request)
    version = _version(pk)
    return render_analysis(
        request,
        existing=services.analysis_for(version=version),
        save=lambda data: services.analysis_save(version=version, user=request.user, data=data),
        draft=lambda: services.analysis_draft(results=results_build(version=version)),
        done_url=reverse("reports:analysis", args=[version.pk]),
        context={"version": version},
    )


@require_POST
def export_start(request, pk: int):
    _require_reader(request)
    version = _version(pk)
    form = ResultFilterForm(request.POST, agents=selectors.version_agents(version=version))
    filters = form.to_filters()
    wanted = []
    row, column = request.POST.get("crosstab_row", ""), request.POST.get("crosstab_column", "")
    if row.isdigit() and column:
        wanted.append((int(row), column))
    job = services.export_request(
        version=version, user=request.user, filters=filters, crosstabs=wanted
    )
    return redirect("reports:export_detail", pk=job.pk)


def _job(request, pk: int) -> ExportJob:
    """The job, for the one who asked for it while they may still read its results (and,
    when its workbook shows numbers whole, still see them): a role lost since the export
    was asked for closes it."""
    from reports.campaign_views import campaigns_readable_by

    job = (
        ExportJob.objects.select_related("version__questionnaire", "work_order")
        .filter(pk=pk)
        .first()
    )
    if job is None or job.created_by_id != request.user.pk:
        raise Http404
    if job.work_order_id:
        allowed = campaigns_readable_by(request.user).filter(pk=job.work_order_id).exists()
    else:
        allowed = can_read_results(request.user)
    if not allowed or (job.show_phones and not may_see_phones(request.user)):
        raise Http404
    return job


@require_GET
def export_detail(request, pk: int):
    job = _job(request, pk)
    return render(request, "reports/export_detail.html", {"job": job})


@require_GET
def export_status(request, pk: int):
    job = _job(request, pk)
    done = job.status == ExportStatus.DONE and bool(job.file)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "progress": 100 if done else job.progress,
            "download_url": reverse("reports:export_download", args=[job.pk]) if done else None,
            "error": job.error if job.status == ExportStatus.FAILED else "",
        }
    )


@require_GET
def export_download(request, pk: int):
    job = _job(request, pk)
    if job.status != ExportStatus.DONE or not job.file:
        raise Http404
    if job.work_order_id:
        name = download_name(f"{job.work_order.title}-{job.pk}", ".xlsx")
    else:
        version = job.version
        name = download_name(f"{version.questionnaire.name}-v{version.number}-{job.pk}", ".xlsx")
    audit_record(
        user=request.user,
        action=AuditAction.EXPORT_DOWNLOAD,
        target=job,
        description=name,
        details={"phones_whole": job.show_phones},
        request=request,
    )
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)


def _computed(request, pk: int) -> ComputedResults:
    """A computation of results the user may read: a campaign's for those who read the
    campaign, a version's for results readers."""
    row = get_object_or_404(ComputedResults.objects.select_related("work_order"), pk=pk)
    if row.work_order_id:
        from reports.campaign_views import campaigns_readable_by

        if not campaigns_readable_by(request.user).filter(pk=row.work_order_id).exists():
            raise Http404
    else:
        _require_reader(request)
    return row


@require_GET
def computed_status(request, pk: int):
    row = _computed(request, pk)
    return JsonResponse(
        {
            "status": row.status,
            "status_label": row.get_status_display(),
            "progress": row.progress,
            "ready": row.status == ComputedStatus.DONE,
            "error": row.error if row.status == ComputedStatus.FAILED else "",
        }
    )


@require_POST
def computed_again(request, pk: int):
    """Compute a page's figures again (after a failure, or to see the latest interviews),
    then go back to the page."""
    row = _computed(request, pk)
    computed.computed_request(
        version=row.version,
        campaign=row.work_order,
        wanted=computed.Wanted(
            filters=ResultFilters.from_json(row.options.get("filters")),
            row=row.options.get("row"),
            column=row.options.get("column") or "",
        ),
        again=True,
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("reports:version_list")
    return redirect(target)
