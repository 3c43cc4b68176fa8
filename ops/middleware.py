"""/healthz, /readyz and /metrics are answered first, before any middleware that could open
a session, check the host name, redirect to HTTPS or ask for a login: a load balancer or a
scraper reaches them by address over plain HTTP, and /healthz never touches the database."""

from django.http import HttpResponseNotAllowed

from ops import health, metrics

ENDPOINTS = {
    "/healthz": health.healthz,
    "/readyz": health.readyz,
    "/metrics": metrics.metrics_response,
}


class OpsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info.rstrip("/"))
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return view(request)
