"""With a table locked (a migration, a long transaction), a page that needs it answers 503
within the web lock timeout instead of hanging, while /healthz and static files answer
as ever. On PostgreSQL web requests' connections get lock and statement timeouts; SQLite
answers 503 once its own busy timeout runs out."""

import contextlib
import json
import sqlite3
import threading

import psycopg
import pytest
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import Client, RequestFactory

from ops import database
from outbound.models import WorkOrder
from tests.factories import Org
from tests.ops.web import get

LOCK_MS = 500


@contextlib.contextmanager
def _table_locked():
    """Another connection holds the orders table (PostgreSQL) or the database (SQLite) as a
    migration would, until the block ends."""
    locked, release = threading.Event(), threading.Event()
    db = connection.settings_dict

    def hold():
        if connection.vendor == "postgresql":
            info = (
                f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} "
                f"user={db.get('USER') or 'postgres'} dbname={db['NAME']}"
            )
            if db.get("PASSWORD"):
                info += f" password={db['PASSWORD']}"
            with psycopg.connect(info) as other:
                other.execute(f"LOCK TABLE {WorkOrder._meta.db_table} IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(60)
        else:
            other = sqlite3.connect(db["NAME"], isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(60)
            other.execute("ROLLBACK")
            other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        holder.join()


@pytest.mark.django_db(transaction=True)
def test_a_locked_table_gives_a_quick_503_and_health_still_answers(
    live_server, settings, monkeypatch
):
    settings.WAIHU_WEB_LOCK_TIMEOUT_MS = LOCK_MS
    if connection.vendor == "sqlite":
        # SQLite's own busy timeout (30 s) stands for the lock timeout there; the live
        # server's connection, opened later, shares these settings.
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", LOCK_MS / 1000)
    org = Org()
    client = Client()
    client.force_login(org.outbound_admin)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    base = live_server.url
    assert get(f"{base}/orders/", cookie)[0] == 200

    with _table_locked():
        status, body, headers, elapsed = get(f"{base}/orders/", cookie)
        assert status == 503
        assert elapsed < 5  # the lock timeout (0.5 s) and a little: never the lock's length
        assert headers["Retry-After"] == "30"
        assert "Waihu is busy" in body and "Traceback" not in body
        assert get(f"{base}/healthz")[:2] == (200, '{"status": "ok"}')
        assert get(f"{base}/static/bootstrap/css/bootstrap.min.css")[0] == 200
    assert get(f"{base}/orders/", cookie)[0] == 200


@pytest.mark.django_db(transaction=True)
def test_only_connections_opened_for_a_request_get_the_web_timeouts(settings):
    settings.WAIHU_WEB_LOCK_TIMEOUT_MS = 1500
    settings.WAIHU_WEB_STATEMENT_TIMEOUT_MS = 20000
    if connection.vendor == "postgresql":
        query = "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        default, web = ("0", "0"), ("1500ms", "20s")
    else:  # SQLite keeps its one busy timeout for every connection
        query = "PRAGMA busy_timeout"
        default = web = (30000,)

    def timeouts():
        with connection.cursor() as cursor:
            cursor.execute(query)
            return tuple(cursor.fetchone())

    connection.close()
    assert timeouts() == default  # a worker, a command: the database's own
    connection.close()
    seen = {}

    def view(request):
        seen["timeouts"] = timeouts()
        return HttpResponse()

    database.WebDatabaseMiddleware(view)(RequestFactory().get("/"))
    assert seen["timeouts"] == web
    connection.close()


class _Cause(Exception):
    def __init__(self, sqlstate):
        self.sqlstate = sqlstate


def _error(sqlstate=None, message="x", kind=OperationalError):
    error = kind(message)
    if sqlstate:
        error.__cause__ = _Cause(sqlstate)
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (_error("55P03"), True),  # lock_timeout
        (_error("57014"), True),  # statement_timeout
        (_error("08006"), True),  # connection failure
        (_error("57P01"), True),  # the server shutting down
        (_error(message="database is locked"), True),  # SQLite
        (_error("23505"), False),  # a unique violation is a bug or a race, not an outage
        (_error(message="no such table: x"), False),
        (ValueError("database is locked"), False),
    ],
)
def test_which_database_errors_mean_unavailable(error, unavailable):
    assert database.is_unavailable(error) is unavailable


def test_a_view_whose_database_is_busy_answers_503_in_the_users_language():
    def view(request):
        raise _error(message="database is locked")

    middleware = database.WebDatabaseMiddleware(view)
    request = RequestFactory().get("/orders/")
    response = middleware.process_exception(request, _error(message="database is locked"))
    assert response.status_code == 503
    assert "Please try again in 30 seconds." in response.content.decode()
    assert middleware.process_exception(request, ValueError("no")) is None


def test_a_middleware_that_finds_the_database_gone_gets_the_503_page_too():
    request = RequestFactory().get("/orders/")
    try:
        raise _error("08001")
    except OperationalError:
        response = database.server_error(request)
    assert response.status_code == 503
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = database.server_error(request)
    assert response.status_code == 500


@contextlib.contextmanager
def _database_away(monkeypatch, tmp_path):
    """Every connection opened from here on (the live server's too: they share these
    settings) finds the database gone: PostgreSQL's port refuses connections, SQLite's file
    cannot be opened (its folder unmounted, say)."""
    from tests.ops.private_redis import _free_port

    connection.close()
    with monkeypatch.context() as patch:
        if connection.vendor == "postgresql":
            patch.setitem(connection.settings_dict, "PORT", str(_free_port()))
        else:
            patch.setitem(connection.settings_dict, "NAME", str(tmp_path / "gone" / "db.sqlite3"))
        yield
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_with_the_database_away_pages_say_so_and_health_answers(live_server, monkeypatch, tmp_path):
    org = Org()
    client = Client()
    client.force_login(org.outbound_admin)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    base = live_server.url
    assert get(f"{base}/orders/", cookie)[0] == 200

    with _database_away(monkeypatch, tmp_path):
        for path in ("/orders/", "/approvals/"):
            status, body, headers, _elapsed = get(f"{base}{path}", cookie)
            assert status == 503, (path, body[:500])
            assert "Waihu is busy" in body and "Traceback" not in body
            assert headers["Retry-After"] == "30"
        assert get(f"{base}/healthz")[:2] == (200, '{"status": "ok"}')
        status, body, _headers, _elapsed = get(f"{base}/readyz")
        assert status == 503
        checks = json.loads(body)["checks"]
        assert checks["database"].startswith("unavailable (")
        assert checks["beat"] == checks["workers"] == "database unavailable"

    # Back: the next request connects again by itself.
    assert get(f"{base}/orders/", cookie)[0] == 200
