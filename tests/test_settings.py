"""Settings come from the environment; a bad value stops start-up naming the variable."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

CHECK = "import django; django.setup(); from django.conf import settings; print('ok')"


def start(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", CHECK],
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_need_no_setup():
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/waihu"),
        ("DATABASE_URL", "not a url"),
        ("CELERY_BROKER_URL", "carrier-pigeon://coop"),
        ("EMAIL_URL", "smtpx://mail"),
        ("DJANGO_DEBUG", "maybe"),
        ("WAIHU_WORKING_DAYS", "1,2,9"),
        ("WAIHU_WORKING_DAY_START", "nine"),
        ("WAIHU_DURATION_MARGIN", "-1"),
        ("WAIHU_SPEECH_CHARS_PER_MINUTE_MIN", "fast"),
        ("WAIHU_VOICE_OPT_OUT_KEY", "12"),
        ("WAIHU_VOICE_OPT_OUT_KEY", "#"),
        ("WAIHU_SANDBOX_OPT_OUT_PERCENT", "-5"),
        ("WAIHU_LOG_FORMAT", "xml"),
        ("WAIHU_METRICS_TOKEN", "short"),
        ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/waihu-metrics"),
        ("WAIHU_WEB_LOCK_TIMEOUT_MS", "-1"),
        ("WAIHU_WEB_STATEMENT_TIMEOUT_MS", "soon"),
        ("WAIHU_WORKER_HEARTBEAT_SECONDS", "0"),
        ("WAIHU_DATABASE_CONNECT_TIMEOUT", "0"),
        ("WAIHU_RETENTION_DAYS", "-1"),
        ("WAIHU_RETENTION_DAYS", "a year"),
        ("WAIHU_RETENTION_DAYS_BY_KIND", "lottery=30"),
        ("WAIHU_RETENTION_DAYS_BY_KIND", "voice=soon"),
        ("WAIHU_RETENTION_DAYS_BY_KIND", "voice=30,voice=60"),
        ("WAIHU_RETENTION_KEY", "too-short"),
        ("WAIHU_ALLOWED_COUNTRIES", "CN,XX"),
        ("WAIHU_ALLOWED_COUNTRIES", " , "),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value):
    result = start(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_needs_a_secret_key():
    result = start(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_working_day_must_end_after_it_starts():
    result = start(WAIHU_WORKING_DAY_START="18:00", WAIHU_WORKING_DAY_END="09:00")
    assert result.returncode != 0 and "WAIHU_WORKING_DAY_END" in result.stderr


def test_database_and_broker_urls_switch_backends():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND)",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": "postgres://waihu@db.internal:5432/waihu",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "EMAIL_URL": "smtp://user:pw@mail.internal:587/?tls=True",
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    engine, broker, email = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert broker == "redis://redis.internal:6379/0"
    assert email == "django.core.mail.backends.smtp.EmailBackend"


def test_retention_periods_by_kind_are_read():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.WAIHU_RETENTION_DAYS, sorted(s.WAIHU_RETENTION_DAYS_BY_KIND.items()))",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "WAIHU_RETENTION_DAYS": "0",
            "WAIHU_RETENTION_DAYS_BY_KIND": " marketing=180, voice = keep ,complaint_callback=730",
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == (
        "0 [('complaint_callback', 730), ('marketing', 180), ('voice', 0)]"
    )
