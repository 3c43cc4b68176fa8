from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from approvals.selectors import inbox

PAGE_SIZE = 50


def inbox_view(request):
    """What waits for the user, a page at a time."""
    page = Paginator(inbox(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "approvals/inbox.html",
        {
            "page": page,
            "items": [(item, item.is_overdue(now)) for item in page],
            "now": now,
            "query": "",
        },
    )
