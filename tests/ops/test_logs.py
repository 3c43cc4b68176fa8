"""One log line per request and per task, as text or JSON lines, never a phone number in
full."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from ops.logs import JsonFormatter, PhoneMaskFilter, mask_phones
from outbound.dialer import tasks
from tests.outbound import test_dialer_fixtures as fx

org = fx.org


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 13812345678 now", "call *******5678 now"),
        ("to=+8613812345678,", "to=+*********5678,"),
        ("+86 138 1234 5678", "+** *** **** 5678"),
        ("landline 0731-84123456.", "landline ****-****3456."),
        ("local 8412345", "local ***2345"),
    ],
)
def test_phone_numbers_are_masked_but_for_their_last_four_digits(text, masked):
    assert mask_phones(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01 12:30:05,123 INFO started",
        "at 2026-03-01T12:30:05.5+08:00",
        "sid CA0123456789012345678901234567890a",
        "task 12345678-1234-5678-9abc-123456789012",
        "attempt 42 took 1.234567 s, 123456 rows",
    ],
)
def test_dates_ids_and_small_numbers_are_left_alone(text):
    assert mask_phones(text) == text


def _capture(logger_name: str, formatter: logging.Formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(PhoneMaskFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return stream, lambda: logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_is_one_json_line_with_its_duration_and_ids(org):
    stream, done = _capture("waihu.request", JsonFormatter())
    client = Client(headers={"accept-language": "en", "x-request-id": "req-42"})
    client.force_login(org.outbound_admin)
    try:
        response = client.get("/orders/?q=13812345678&page=2")
    finally:
        done()
    assert response["X-Request-ID"] == "req-42"
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["logger"] == "waihu.request" and line["level"] == "INFO"
    assert line["method"] == "GET" and line["path"] == "/orders/"
    assert line["query"] == ["page", "q"]
    assert line["status"] == response.status_code
    assert line["user_id"] == org.outbound_admin.pk
    assert line["request_id"] == "req-42"
    assert line["duration_ms"] >= 0 and "time" in line
    assert "13812345678" not in lines[0] and "2345678" not in lines[0]


@pytest.mark.django_db
def test_a_request_line_names_the_route_and_its_ids():
    stream, done = _capture("waihu.request", JsonFormatter())
    try:
        Client().post("/telephony/attempts/12345678/status/", {"CallStatus": "busy"})
    finally:
        done()
    line = json.loads(stream.getvalue())
    assert line["route"] == "telephony/attempts/<int:attempt_id>/status/"
    assert line["ids"] == {"attempt_id": 12345678}
    assert line["user_id"] is None and line["status"] == 403
    assert len(line["request_id"]) == 32


@pytest.mark.django_db
def test_a_task_is_one_line_with_its_duration():
    stream, done = _capture("waihu.task", JsonFormatter())
    try:
        tasks.dial_campaign.apply(args=[987654321])
    finally:
        done()
    line = json.loads(stream.getvalue())
    assert line["task"] == "outbound.dialer.tasks.dial_campaign"
    assert line["state"] == "SUCCESS" and line["duration_ms"] >= 0
    assert line["task_id"] and line["task_args"] == "*****4321"  # an id that looks like a number


def test_messages_tracebacks_and_fields_are_masked():
    stream, done = _capture("waihu.test", JsonFormatter())
    logger = logging.getLogger("waihu.test")
    try:
        try:
            raise ValueError("duplicate key (phone)=(+8613812345678)")
        except ValueError:
            logger.exception("import of %s failed", "13912345678", extra={"to": "13712345678"})
    finally:
        done()
    text = stream.getvalue()
    line = json.loads(text)
    assert line["message"] == "import of *******5678 failed"
    assert "+*********5678" in line["exc_info"] and "ValueError" in line["exc_info"]
    assert line["to"] == "*******5678"
    assert "12345678" not in text


def test_text_lines_are_masked_too():
    stream, done = _capture("waihu.test", logging.Formatter("%(levelname)s %(message)s"))
    try:
        logging.getLogger("waihu.test").warning("dialled %s", "+8613812345678")
    finally:
        done()
    assert stream.getvalue() == "WARNING dialled +*********5678\n"


def _emit(fmt: str) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('waihu.check').warning('call %s', '13812345678')"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "WAIHU_LOG_FORMAT": fmt},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_log_format_is_a_setting():
    as_json = _emit("json")
    assert as_json.returncode == 0, as_json.stderr
    line = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert line["message"] == "call *******5678" and line["logger"] == "waihu.check"
    as_text = _emit("text")
    assert as_text.stderr.strip().endswith("WARNING waihu.check: call *******5678")
    wrong = _emit("xml")
    assert wrong.returncode != 0 and "WAIHU_LOG_FORMAT" in wrong.stderr
