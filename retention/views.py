"""The system administrators' view of retention: what the next daily run will remove, and
what comes due in the weeks after (a dry run: the page changes nothing)."""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.views import can_read_audit
from retention import services

AHEAD_DAYS = 30


@require_GET
def retention_plan(request):
    if not can_read_audit(request.user):
        raise PermissionDenied
    now = timezone.now()
    due = services.plan(now)
    taken = {item.campaign_id for item in due}
    ahead = [
        item
        for item in services.plan(now + datetime.timedelta(days=AHEAD_DAYS))
        if item.campaign_id not in taken
    ]
    return render(
        request,
        "retention/plan.html",
        {
            "due": due,
            "ahead": ahead,
            "ahead_days": AHEAD_DAYS,
            "default_days": settings.WAIHU_RETENTION_DAYS,
            "by_kind": sorted(settings.WAIHU_RETENTION_DAYS_BY_KIND.items()),
        },
    )
