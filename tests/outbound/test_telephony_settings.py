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
        ({"WAIHU_ACCOUNT_CPS": "0"}, "WAIHU_ACCOUNT_CPS"),
        ({"WAIHU_SANDBOX_CPS": "fast"}, "WAIHU_SANDBOX_CPS"),
        ({"WAIHU_SANDBOX_OWNED_NUMBERS": "+8673110086,0731-10086"}, "WAIHU_SANDBOX_OWNED_NUMBERS"),
        ({"WAIHU_SANDBOX_VERIFIED_CALLER_IDS": "10086"}, "WAIHU_SANDBOX_VERIFIED_CALLER_IDS"),
        ({"WAIHU_SANDBOX_ACCOUNT_STATUS": "gone"}, "WAIHU_SANDBOX_ACCOUNT_STATUS"),
        # A voice that does not speak its language, and the open answers' limits.
        ({"WAIHU_VOICE_ZH_HANS": "Polly.Joanna-Neural"}, "WAIHU_VOICE_ZH_HANS"),
        ({"WAIHU_VOICE_EN": "Polly.Zhiyu"}, "WAIHU_VOICE_EN"),
        ({"WAIHU_VOICE_OPEN_ANSWER_SECONDS": "1"}, "WAIHU_VOICE_OPEN_ANSWER_SECONDS"),
        ({"WAIHU_VOICE_OPEN_ANSWER_SECONDS": "20000"}, "WAIHU_VOICE_OPEN_ANSWER_SECONDS"),
        ({"WAIHU_VOICE_OPEN_ANSWER_INPUT": "typing"}, "WAIHU_VOICE_OPEN_ANSWER_INPUT"),
        ({"WAIHU_SANDBOX_MAX_CONCURRENT": "-1"}, "WAIHU_SANDBOX_MAX_CONCURRENT"),
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


def test_the_sandbox_owns_the_caller_id_and_keeps_the_accounts_pace_by_default():
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.WAIHU_SANDBOX_OWNED_NUMBERS, s.WAIHU_SANDBOX_VERIFIED_CALLER_IDS, "
            "s.WAIHU_ACCOUNT_CPS, s.WAIHU_SANDBOX_CPS, "
            "repr(s.TWILIO_WEBHOOK_SHARED_KEY))",
        ],
        cwd=settings.BASE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("WAIHU_", "TWILIO_"))},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "WAIHU_CALLER_ID": "+8675512345",
            "WAIHU_ACCOUNT_CPS": "3",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.split("\n")[-2] == ("['+8675512345'] [] 3.0 3.0 ''")
