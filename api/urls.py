"""The API's URLs. Its views need no login (a token authenticates them) and each call is
put on the record once it has its answer."""

import functools

from django.contrib.auth.decorators import login_not_required

from api.api import api
from api.audit import record_call


def _recorded(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        integration = getattr(request, "api_integration", None)
        if integration is not None:
            record_call(
                request=request,
                integration=integration,
                method=request.method,
                path=request.get_full_path(),
                status_code=response.status_code,
            )
        return response

    return login_not_required(wrapped)


def _patterns():
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _recorded(pattern.callback)
    return patterns, app_name, namespace


urlpatterns_v1 = _patterns()
