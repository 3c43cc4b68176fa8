from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.forms import AuditFilterForm
from accounts.selectors import audit_events, audit_target_types

AUDIT_PAGE_SIZE = 50


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = AuthenticationForm
    redirect_authenticated_user = True


def locked_out(request, original_response=None, credentials=None):
    """What a login attempt gets while its account or address is locked out (django-axes
    counts the failures): 429 with how long the block lasts and who can lift it."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked_out.html", {"cooloff_minutes": minutes}, status=429)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every user changes their own password; the four validators apply."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response


def can_read_audit(user) -> bool:
    """The system administrators: staff and superusers."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


@require_GET
def audit_list(request):
    """The audit trail, newest first, 50 events a page, filtered by user, action, what it
    concerned, dates and address."""
    if not can_read_audit(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    page = Paginator(audit_events(**form.criteria()), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    types = dict(audit_target_types())
    return render(
        request,
        "accounts/audit_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(event, types.get(event.target_type, event.target_type)) for event in page],
            "query": query.urlencode(),
        },
    )
