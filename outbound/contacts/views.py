import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.audit import AuditAction, audit_record
from outbound import privacy
from outbound.contacts import acceptance, selectors, services
from outbound.contacts.forms import (
    TARGET_LABELS,
    ContactFilterForm,
    ContactUploadForm,
    DoNotCallFilterForm,
    DoNotCallForm,
    DoNotCallUploadForm,
    MappingForm,
    RedListFilterForm,
    RedListForm,
    RedListUploadForm,
)
from outbound.contacts.importer import mask_rejects_workbook
from outbound.contacts.normalise import normalise_phone
from outbound.contacts.rules import reject_message
from outbound.listing import Column, Sorting, page_of, query_without
from outbound.models import (
    Contact,
    ContactHold,
    ContactImport,
    DoNotCallEntry,
    RedListEntry,
    WorkOrder,
)


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _campaign(request, pk: int) -> WorkOrder:
    """The campaign if the user may manage its contacts: 404 if they cannot see the order
    at all, 403 if they can see it but not its contacts."""
    try:
        campaign = selectors.campaign_for(user=request.user, pk=pk)
    except WorkOrder.DoesNotExist:
        raise Http404(_("No such order.")) from None
    if not selectors.can_manage_contacts(user=request.user, campaign=campaign):
        raise PermissionDenied(
            _("Only the outbound administrators and the requester manage this list.")
        )
    return campaign


def _import(request, pk: int) -> ContactImport:
    try:
        job = selectors.import_for(user=request.user, pk=pk)
    except ContactImport.DoesNotExist:
        raise Http404(_("No such import.")) from None
    if not selectors.can_manage_contacts(user=request.user, campaign=job.campaign):
        raise PermissionDenied(
            _("Only the outbound administrators and the requester manage this list.")
        )
    return job


def _require_list_admin(request) -> None:
    if not selectors.can_manage_lists(user=request.user):
        raise PermissionDenied(_("Only the outbound administrators manage these lists."))


# --- a campaign's contacts and imports ------------------------------------------------------


CONTACT_SORTS = {
    "added": ("id",),
    "phone": ("phone",),
    "name": ("name",),
    "region": ("region",),
    "deadline": ("deadline",),
    "status": ("dial_state__status",),
}
CONTACT_COLUMNS = [
    Column(gettext_lazy("Phone"), "phone"),
    Column(gettext_lazy("Name"), "name"),
    Column(gettext_lazy("Brand")),
    Column(gettext_lazy("Region"), "region"),
    Column(gettext_lazy("Segment")),
    Column(gettext_lazy("Deadline"), "deadline"),
    Column(gettext_lazy("Status"), "status"),
    Column(gettext_lazy("Other columns")),
]


def campaign_contacts(request, order_pk: int):
    campaign = _campaign(request, order_pk)
    deadlines = selectors.has_deadlines(campaign)
    filters = ContactFilterForm(request.GET, deadlines=deadlines)
    criteria = filters.values()
    sorting = Sorting(request.GET, CONTACT_SORTS, default="added")
    contacts = selectors.contact_list(
        campaign=campaign,
        search=criteria["q"],
        status=criteria["status"],
        deadline=criteria.get("deadline", ""),
        ordering=sorting.order_by(Contact),
    )
    deadline_query = query_without(request.GET, "deadline")
    known = None
    if not criteria["q"].strip() and not criteria.get("deadline"):
        known = selectors.contact_count_kept(campaign=campaign, status=criteria["status"])
    return render(
        request,
        "outbound/contacts/campaign_contacts.html",
        {
            "campaign": campaign,
            "page": page_of(request.GET, contacts, count=known),
            "filters": filters,
            "filtered": any(criteria.values()),
            "search": criteria["q"],
            "sort": sorting.value,
            "columns": sorting.headers(CONTACT_COLUMNS),
            "query": query_without(request.GET),
            "deadline_counts": selectors.deadline_counts(campaign=campaign),
            "deadline_query": f"{deadline_query}&" if deadline_query else "",
            "imports": selectors.import_list(campaign=campaign)[:10],
            "can_upload": campaign.run_status == WorkOrder.RunStatus.READY,
        },
    )


def import_upload(request, order_pk: int):
    campaign = _campaign(request, order_pk)
    services.check_can_import(user=request.user, campaign=campaign)
    form = ContactUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_create(
                campaign=campaign, user=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            return redirect("contacts:import_map", pk=job.pk)
    return render(
        request, "outbound/contacts/import_upload.html", {"campaign": campaign, "form": form}
    )


def import_map(request, pk: int):
    job = _import(request, pk)
    if job.status != ContactImport.Status.UPLOADED:
        return redirect(job)
    services.check_can_import(user=request.user, campaign=job.campaign)
    complaint = job.campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK
    initial = {target: str(i) for target, i in services.guess_mapping(job.header).items()}
    initial["deadline_days"] = job.deadline_days
    form = MappingForm(
        request.POST or None, header=job.header, complaint=complaint, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.import_start(
                job=job,
                user=request.user,
                mapping=form.mapping(),
                deadline_days=form.cleaned_data["deadline_days"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("The import has started."))
            return redirect(job)
    phone_column = initial.get("phone")
    if form.is_bound:
        phone_column = form.data.get("phone") or None
    phone_index = int(phone_column) if phone_column not in (None, "") else None
    preview = []
    for row in job.preview:
        raw = row[phone_index] if phone_index is not None and phone_index < len(row) else None
        preview.append({"cells": row, "phone": normalise_phone(raw) if raw else None})
    return render(
        request,
        "outbound/contacts/import_map.html",
        {
            "job": job,
            "campaign": job.campaign,
            "form": form,
            "target_fields": [form[target] for target in TARGET_LABELS],
            "preview": preview,
            "phone_index": phone_index,
            "complaint": complaint,
        },
    )


def _status(job: ContactImport) -> dict:
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "finished": job.is_finished and not job.rejects_pending,
        "rejects_pending": job.rejects_pending,
        "progress": round(job.progress * 100, 1),
        "error": job.error,
        "counts": {
            "rows_read": job.rows_read,
            "imported": job.imported,
            "duplicates": job.duplicates,
            "duplicates_in_file": job.duplicates_in_file,
            "duplicates_in_campaign": job.duplicates_in_campaign,
            "invalid": job.invalid,
            "excluded_dnc": job.excluded_dnc,
            "excluded_red_list": job.excluded_red_list,
        },
        "rejects_url": (
            reverse("contacts:import_rejects", args=[job.pk]) if job.rejects_file else None
        ),
    }


def import_detail(request, pk: int):
    job = _import(request, pk)
    # A list never mapped before the end of retention has nothing left to map.
    if job.status == ContactImport.Status.UPLOADED and job.files_removed_at is None:
        return redirect("contacts:import_map", pk=job.pk)
    rejected = [
        (number, reject_message(reason, detail)) for number, reason, detail in job.rejects_sample
    ]
    return render(
        request,
        "outbound/contacts/import_detail.html",
        {"job": job, "campaign": job.campaign, "state": _status(job), "rejected": rejected},
    )


def import_status(request, pk: int):
    return JsonResponse(_status(_import(request, pk)))


def import_rejects(request, pk: int):
    job = _import(request, pk)
    if not job.rejects_file:
        raise Http404(_("This import rejected no rows."))
    whole = privacy.may_see_phones(request.user)
    audit_record(
        user=request.user,
        action=AuditAction.REJECTS_DOWNLOAD,
        target=job,
        details={"phones_whole": whole},
        request=request,
    )
    if whole:
        content = job.rejects_file.open("rb")
    else:
        # The rows as the requester uploaded them, but with the numbers masked.
        content = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it)
        with job.rejects_file.open("rb") as source:
            mask_rejects_workbook(source, content)
        content.seek(0)
    return FileResponse(
        content,
        as_attachment=True,
        filename=f"rejected-{job.pk}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- the do-not-call list and the red list --------------------------------------------------


def _upload_message(request, counts: dict) -> None:
    messages.success(
        request,
        _(
            "%(read)s rows read: %(added)s added, %(already)s already listed, "
            "%(invalid)s not valid numbers."
        )
        % counts,
    )


@dataclass(frozen=True)
class _ListKind:
    """The pages of one list never to call: its template, its entries, its two forms, its
    filters and the columns it sorts by."""

    template: str
    url_name: str
    model: type
    entries: Callable
    form: type
    upload_form: type
    filter_form: type
    sorts: dict
    columns: list


def _list_page(request, kind: _ListKind, *, form=None, upload_form=None, status: int = 200):
    filters = kind.filter_form(request.GET)
    criteria = filters.values()
    search = criteria.pop("q")
    removed = request.GET.get("removed") == "1"
    sorting = Sorting(request.GET, kind.sorts, default="-added")
    entries = kind.entries(
        search=search,
        include_removed=removed,
        ordering=sorting.order_by(kind.model),
        **criteria,
    )
    return render(
        request,
        kind.template,
        {
            "page": page_of(request.GET, entries),
            "search": search,
            "removed": removed,
            "filters": filters,
            "filtered": bool(search) or any(criteria.values()),
            "sort": sorting.value,
            "columns": sorting.headers(kind.columns),
            "query": query_without(request.GET),
            "form": form or kind.form(),
            "upload_form": upload_form or kind.upload_form(),
        },
        status=status,
    )


def _list_add(request, kind: _ListKind, save: Callable[[dict], object], done: str):
    """The form adding one entry: saved and back to the list, or the list with the errors."""
    form = kind.form(request.POST)
    if form.is_valid():
        save(form.cleaned_data)
        messages.success(request, done)
        return redirect(kind.url_name)
    return _list_page(request, kind, form=form, status=400)


def _list_upload(request, kind: _ListKind, save: Callable[[dict], dict]):
    """An uploaded file of entries: counted and back to the list, or the list with the
    errors (a file that cannot be read among them)."""
    form = kind.upload_form(request.POST, request.FILES)
    if form.is_valid():
        try:
            counts = save(form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            _upload_message(request, counts)
            return redirect(kind.url_name)
    return _list_page(request, kind, upload_form=form, status=400)


DNC = _ListKind(
    "outbound/contacts/dnc_list.html",
    "contacts:dnc_list",
    DoNotCallEntry,
    selectors.dnc_list,
    DoNotCallForm,
    DoNotCallUploadForm,
    DoNotCallFilterForm,
    {
        "phone": ("phone",),
        "campaign": ("campaign_id",),
        "source": ("source",),
        "added": ("created_at",),
    },
    [
        Column(gettext_lazy("Phone"), "phone"),
        Column(gettext_lazy("Campaign"), "campaign"),
        Column(gettext_lazy("Reason")),
        Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("Added"), "added"),
        Column(""),
    ],
)
RED = _ListKind(
    "outbound/contacts/red_list.html",
    "contacts:red_list",
    RedListEntry,
    selectors.red_list,
    RedListForm,
    RedListUploadForm,
    RedListFilterForm,
    {
        "phone": ("phone",),
        "customer": ("customer_name",),
        "period": ("ends_on", "starts_on"),
        "added": ("created_at",),
    },
    [
        Column(gettext_lazy("Phone"), "phone"),
        Column(gettext_lazy("Customer"), "customer"),
        Column(gettext_lazy("Reason")),
        Column(gettext_lazy("Period"), "period"),
        Column(gettext_lazy("Added"), "added"),
        Column(""),
    ],
)


def dnc_list(request):
    _require_list_admin(request)
    return _list_page(request, DNC)


@require_POST
def dnc_add(request):
    _require_list_admin(request)
    return _list_add(
        request,
        DNC,
        lambda data: services.dnc_add(
            phone=data["phone"],
            reason=data["reason"],
            source=DoNotCallEntry.Source.MANUAL,
            campaign=data["campaign"],
            added_by=request.user,
        ),
        _("The number is on the do-not-call list."),
    )


@require_POST
def dnc_upload(request):
    _require_list_admin(request)
    return _list_upload(
        request,
        DNC,
        lambda data: services.dnc_upload(
            upload=data["file"],
            reason=data["reason"],
            campaign=data["campaign"],
            added_by=request.user,
        ),
    )


@require_POST
def dnc_remove(request, pk: int):
    _require_list_admin(request)
    entry = get_object_or_404(DoNotCallEntry, pk=pk)
    if services.dnc_remove(entry=entry, user=request.user):
        messages.success(
            request,
            _("The number %(phone)s can be called again.")
            % {"phone": privacy.phone_for(request.user, entry.phone)},
        )
    return redirect("contacts:dnc_list")


def red_list(request):
    _require_list_admin(request)
    return _list_page(request, RED)


@require_POST
def red_list_add(request):
    _require_list_admin(request)
    return _list_add(
        request,
        RED,
        lambda data: services.red_list_add(**data, added_by=request.user),
        _("The customer is on the red list."),
    )


@require_POST
def red_list_upload(request):
    _require_list_admin(request)
    return _list_upload(
        request,
        RED,
        lambda data: services.red_list_upload(
            upload=data["file"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            reason=data["reason"],
            added_by=request.user,
        ),
    )


@require_POST
def red_list_remove(request, pk: int):
    _require_list_admin(request)
    entry = get_object_or_404(RedListEntry, pk=pk)
    if services.red_list_remove(entry=entry, user=request.user):
        messages.success(
            request,
            _("%(phone)s is off the red list.")
            % {"phone": privacy.phone_for(request.user, entry.phone)},
        )
    return redirect("contacts:red_list")


# --- contacts held for acceptance ----------------------------------------------------------


def _hold_decide(request, pk: int, decide, done: str):
    """Accepts or declines held contacts: 404 for a campaign the user cannot see, 403 for
    anyone but an outbound administrator."""
    hold = get_object_or_404(ContactHold.objects.select_related("contact_import"), pk=pk)
    try:
        hold.campaign = selectors.campaign_for(user=request.user, pk=hold.campaign_id)
    except WorkOrder.DoesNotExist:
        raise Http404(_("No such order.")) from None
    try:
        decide(hold=hold, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done % {"count": hold.contacts_count, "label": hold.label})
    return redirect("campaigns:detail", hold.campaign_id)


@require_POST
def hold_accept(request, pk: int):
    return _hold_decide(
        request,
        pk,
        acceptance.hold_accept,
        _("%(count)s contacts of %(label)s accepted: they are called from now on."),
    )


@require_POST
def hold_decline(request, pk: int):
    return _hold_decide(
        request,
        pk,
        acceptance.hold_decline,
        _("%(count)s contacts of %(label)s declined and removed."),
    )
