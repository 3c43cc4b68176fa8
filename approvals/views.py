from django.shortcuts import render
from django.utils import timezone

from approvals.selectors import inbox


def inbox_view(request):
    items = list(inbox(user=request.user))
    now = timezone.now()
    return render(
        request,
        "approvals/inbox.html",
        {"items": [(item, item.is_overdue(now)) for item in items], "now": now},
    )
