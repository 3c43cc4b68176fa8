import datetime
import os

import pytest
import time_machine

from config.celery import app as celery_app

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(available: bool, why: str) -> None:
    """Skip a test whose outside service is missing on a newcomer's machine; in CI
    (CI=true) the service must be there, so the test fails instead of skipping."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI must run this test, but {why}", pytrace=False)
    pytest.skip(why)


CLOCK_SHIFT_DAYS = int(os.environ.get("WAIHU_TEST_CLOCK_SHIFT_DAYS") or 0)
_shifted_clock = None


def pytest_configure(config):
    """With WAIHU_TEST_CLOCK_SHIFT_DAYS set, this process's clock runs that many days ahead
    (or behind) from before collection on, and still ticks: a test that leans on today's
    real date fails today rather than on some later day. CI runs the suite once this way."""
    global _shifted_clock
    if CLOCK_SHIFT_DAYS:
        now = datetime.datetime.now(datetime.UTC)
        _shifted_clock = time_machine.travel(
            now + datetime.timedelta(days=CLOCK_SHIFT_DAYS), tick=True
        )
        _shifted_clock.start()


def pytest_unconfigure(config):
    if _shifted_clock is not None:
        _shifted_clock.stop()


def pytest_report_header(config):
    if CLOCK_SHIFT_DAYS:
        return f"clock shifted by {CLOCK_SHIFT_DAYS} days (WAIHU_TEST_CLOCK_SHIFT_DAYS)"
    return None


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Test connections close after each request: a connection kept open by a live-server
    thread would stop the test database from being dropped at the end."""
    from django.db import connections

    for alias in connections:
        connections[alias].settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tasks run inline in ordinary tests; the tests marked `worker` start a real worker."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _english():
    """Code run outside a request speaks English in tests, so messages can be quoted;
    requests still pick their language from the browser (Chinese by default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _account_pacing(settings):
    """Tests dial as fast as their campaigns ask; the pacing tests set the account's limit
    (and the sandbox's) themselves."""
    settings.WAIHU_ACCOUNT_CPS = 1000.0
    settings.WAIHU_SANDBOX_CPS = 1000.0


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def on_postgres(django_db_blocker):
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def client():
    """The test client reads English, so assertions can quote the English messages; the
    language tests make their own clients."""
    from django.test import Client

    return Client(headers={"accept-language": "en"})
