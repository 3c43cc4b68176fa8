"""Telephony settings come from the environment; a bad value stops start-up naming the
variable, and the telephony tasks are scheduled and loaded by every worker."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from config.celery import app
from outbound.dialer import tasks


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": "nope", "TWILIO_AUTH_TOKEN": "x"}, "TWILIO_ACCOUNT_SID"),
        ({"WAIHU_CALLER_ID": "0731-10086"}, "WAIHU_CALLER_ID"),
        ({"WAIHU_RING_TIMEOUT_SECONDS": "2"}, "WAIHU_RING_TIMEOUT_SECONDS"),
        ({"WAIHU_SANDBOX_SHARES": "answered=lots"}, "WAIHU_SANDBOX_SHARES"),
        ({"WAIHU_SANDBOX_RING_MIN_SECONDS": "9"}, "WAIHU_SANDBOX_RING_MAX_SECONDS"),
        ({"WAIHU_DIALER_BATCH_SIZE": "0"}, "WAIHU_DIALER_BATCH_SIZE"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(env, named):
    completed = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr and named in completed.stderr


def test_defaults_need_no_setup():
    assert settings.WAIHU_CALLER_ID == "+8673110086"
    assert settings.TWILIO_ACCOUNT_SID == "" or settings.TWILIO_AUTH_TOKEN
    assert sum(settings.WAIHU_SANDBOX_SHARES.values()) > 0


def test_beat_runs_the_dialer_and_the_settling():
    schedule = app.conf.beat_schedule
    assert schedule["dialer-tick"]["task"] == tasks.dial_due.name
    assert schedule["dialer-settle"]["task"] == tasks.settle_stale.name
    assert {"outbound.dialer.tasks", "outbound.sandbox.tasks"} <= set(app.conf.imports)
