"""Site-wide answers that belong to no app."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@login_not_required
@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says (a download, a PDF, an error
    page): send them to the icon the pages link to."""
    return HttpResponsePermanentRedirect(static("waihu/favicon.svg"))
