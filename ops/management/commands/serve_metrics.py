"""Serves this host's metrics (PROMETHEUS_MULTIPROC_DIR) where Celery workers run without a
web server: the same /metrics, the same token."""

from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.management.base import BaseCommand, CommandError
from django.test import RequestFactory

from ops.metrics import metrics_response


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def application(environ, start_response):
    if environ.get("PATH_INFO", "").rstrip("/") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]
    request = RequestFactory().generic(
        "GET", "/metrics", HTTP_AUTHORIZATION=environ.get("HTTP_AUTHORIZATION", "")
    )
    response = metrics_response(request, state=False)
    status = f"{response.status_code} {response.reason_phrase}"
    start_response(status, [(k, v) for k, v in response.items()])
    return [response.content]


class Command(BaseCommand):
    help = "Serves this host's worker metrics at /metrics (for hosts without a web server)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:9808", help="address:port")

    def handle(self, *args, bind, **options):
        host, _sep, port = bind.rpartition(":")
        if not port.isdigit():
            raise CommandError("--bind takes address:port")
        with make_server(host or "0.0.0.0", int(port), application, handler_class=_Quiet) as server:  # noqa: S104
            self.stdout.write(f"Serving metrics on http://{bind}/metrics")
            server.serve_forever()
