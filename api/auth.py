"""Bearer tokens and the per-token rate limit (a fixed one-minute window in the cache)."""

import time

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.errors import ApiError
from api.models import Integration
from api.services import integration_for_token

WINDOW_SECONDS = 60


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str) -> Integration | None:
        integration = integration_for_token(token)
        if integration is None:
            return None
        request.api_integration = integration
        rate_limit(integration)
        Integration.objects.filter(pk=integration.pk).update(last_used_at=timezone.now())
        return integration


def rate_limit(integration: Integration) -> None:
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"api-rate:{integration.pk}:{window}"
    cache.add(key, 0, WINDOW_SECONDS * 2)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, WINDOW_SECONDS * 2)
        used = 1
    if used > integration.rate_limit_per_minute:
        retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
        raise ApiError(
            429,
            "rate_limited",
            _("Too many requests: at most %(n)d a minute. Try again in %(s)d seconds.")
            % {"n": integration.rate_limit_per_minute, "s": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


def require_scope(request, scope: str) -> Integration:
    integration: Integration = request.auth
    if not integration.has_scope(scope):
        raise ApiError(
            403,
            "scope_missing",
            _("This integration may not do that: it needs the '%(scope)s' scope.")
            % {"scope": scope},
        )
    return integration
