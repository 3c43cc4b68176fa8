from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from approvals.selectors import inbox_count


def inbox(request: HttpRequest) -> dict:
    """The number of things waiting in the user's inbox, for the navigation's badge;
    counted only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_count": SimpleLazyObject(lambda: inbox_count(user=user))}
