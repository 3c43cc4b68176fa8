"""Revealing a masked number on demand: one contact's number, shown whole to a user the
policy allows (outbound.privacy: the campaign's requester, an agent who has called the
contact), and kept in the audit trail each time. Everyone else gets 403 and nothing is
recorded.

A POST, so that a reveal is never a link a browser prefetches or a log keeps. The page's
script (static/waihu/reveal.js) asks for JSON and puts the number in place; without
scripts the form's POST shows the number on a page of its own."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.audit import AuditAction, audit_record
from outbound import privacy
from outbound.models import Contact


def _back(request) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


@never_cache
@require_POST
def number_reveal(request, pk: int):
    contact = Contact.objects.select_related("campaign").filter(pk=pk).first()
    if contact is None:
        raise Http404(_("No such contact."))
    if not privacy.may_reveal(request.user, contact):
        raise PermissionDenied(_("You may not see this number whole."))
    back = _back(request)
    audit_record(
        user=request.user,
        action=AuditAction.NUMBER_REVEAL,
        target=contact,
        details={"campaign": contact.campaign_id, "page": back},
        request=request,
    )
    number = privacy.phone_for(request.user, contact.phone, contact=contact, purpose="reveal")
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"contact": contact.pk, "phone": number})
    return render(
        request,
        "outbound/contacts/number_reveal.html",
        {"contact": contact, "campaign": contact.campaign, "number": number, "back": back},
    )
