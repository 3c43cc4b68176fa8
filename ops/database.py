"""Web requests never wait long on the database: on PostgreSQL each connection a request
opens gets a lock timeout and a statement timeout (WAIHU_WEB_LOCK_TIMEOUT_MS,
WAIHU_WEB_STATEMENT_TIMEOUT_MS; Celery workers keep the server's own, since an import or
an export may rightly run long), and a request whose database is locked, too slow or gone
is answered 503 with a page saying so, at once, instead of hanging or showing a traceback."""

import contextvars
import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

_in_request = contextvars.ContextVar("waihu_web_request", default=False)

# SQLSTATEs that mean "not now" rather than "wrong": lock_not_available, query_canceled
# (statement_timeout), admin_shutdown, crash_shutdown, cannot_connect_now; and class 08, the
# connection's errors.
_UNAVAILABLE_STATES = {"55P03", "57014", "57P01", "57P02", "57P03"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open database")
RETRY_AFTER_SECONDS = 30


def web_timeouts(sender, connection, **kwargs) -> None:
    """connection_created: a connection opened while serving a request is a web one. (SQLite
    locks the whole file for any write and keeps its own busy timeout for everyone: a web
    request there still answers 503 once that runs out, but the carrier's callbacks and the
    sandbox, writing, must not be turned away after a short wait.)"""
    if connection.vendor != "postgresql" or not _in_request.get():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('statement_timeout', %s, false)",
            [
                f"{settings.WAIHU_WEB_LOCK_TIMEOUT_MS}ms",
                f"{settings.WAIHU_WEB_STATEMENT_TIMEOUT_MS}ms",
            ],
        )


def is_unavailable(error: BaseException | None) -> bool:
    """Whether a database error means the database is locked, too slow or unreachable."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, DatabaseError):
        return False
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(
        getattr(cause, "diag", None), "sqlstate", None
    )
    if state:
        return state in _UNAVAILABLE_STATES or state.startswith("08")
    if isinstance(error, OperationalError):
        message = str(error).lower()
        # psycopg's connection failures carry no SQLSTATE; SQLite says it is busy.
        from_psycopg = cause is not None and type(cause).__module__.startswith("psycopg")
        return from_psycopg or any(text in message for text in _SQLITE_BUSY)
    return False


def unavailable_response(request) -> HttpResponse:
    """The 503 page: no base layout (it would ask the database for the menu), no login."""
    response = HttpResponse(
        render_to_string("ops/unavailable.html", {"retry_after": RETRY_AFTER_SECONDS}),
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class WebDatabaseMiddleware:
    """Marks the request so the connections it opens get the web timeouts, and answers 503
    when a view's database is unavailable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _in_request.set(True)
        try:
            return self.get_response(request)
        finally:
            _in_request.reset(token)

    def process_exception(self, request, exception):
        if not is_unavailable(exception):
            return None
        logger.warning(
            "database unavailable for %s %s: %s",
            request.method,
            request.path,
            type(exception.__cause__ or exception).__name__,
        )
        return unavailable_response(request)


def server_error(request, *args, **kwargs):
    """handler500: a middleware that found the database unavailable (the session or the
    user being loaded) gets the 503 page too; anything else is Django's 500."""
    from django.views.defaults import server_error as django_server_error

    if is_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return django_server_error(request, *args, **kwargs)
