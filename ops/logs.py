"""Logs: one line per request and per task, as text or as JSON lines (WAIHU_LOG_FORMAT), and
never a phone number in full: whatever looks like one is masked but for its last four
digits, in messages, tracebacks and (as JSON) every field."""

import datetime
import logging
import re
import time
import uuid

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

request_logger = logging.getLogger("waihu.request")

# Seven digits or more, maybe after a +, maybe split by single spaces or dashes, standing
# alone: not inside a word (a call SID, a hex id) nor a group of a dashed id (a UUID).
_PHONE = re.compile(r"(?<![\w+*-])\+?\d(?:[ -]?\d){6,}(?![\w*]|-\w)")
# Dates and times are not numbers to hide.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?")
_KEEP = 4


def _hide(match: re.Match) -> str:
    text = match.group()
    total = sum(c.isdigit() for c in text)
    seen = 0
    out = []
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - _KEEP else "*")
        else:
            out.append(c)
    return "".join(out)


def mask_phones(text: str) -> str:
    """Every phone-like number in `text` masked but for its last four digits."""
    if not text or not any(c.isdigit() for c in text):
        return text
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group())
        return f"\x00{len(kept) - 1}\x00"

    masked = _PHONE.sub(_hide, _DATETIME.sub(keep, text))
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], masked)


class PhoneMaskFilter(logging.Filter):
    """Masks phone numbers in a record's message and traceback (a database error quoting a
    row, a URL with a number in its query), whatever handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_phones_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's own problem to report
            return True
        record.msg, record.args = mask_phones(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
            # Formatters that format exc_info themselves would print it unmasked.
            record.exc_info = None
        record._phones_masked = True
        return True


def _masked(value):
    if isinstance(value, str):
        return mask_phones(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return mask_phones(str(value))


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: time, level, logger, message and the record's extra fields,
    every string masked."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data):
        return {key: _masked(value) for key, value in log_data.items()}


def brief(args, kwargs, limit: int = 200) -> str:
    """A task's arguments (ids, by habit) for its log line, cut short."""
    parts = [repr(a) for a in args or ()]
    parts += [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    text = ", ".join(parts)
    return mask_phones(text if len(text) <= limit else text[: limit - 1] + "…")


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _user_id(request):
    """The user's id when the request already loaded its user (never loads it)."""
    from django.utils.functional import empty

    user = getattr(request, "user", None)
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:
        return None
    return wrapped.pk if getattr(wrapped, "is_authenticated", False) else None


class RequestLogMiddleware:
    """One line per request: method, path (the query's names only: its values may hold
    numbers), the URL pattern and its numeric ids, status, duration, user id and request id
    (the proxy's X-Request-ID, or a new one, sent back in the answer)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        response = self.get_response(request)
        duration = (time.perf_counter() - started) * 1000
        match = getattr(request, "resolver_match", None)
        path = mask_phones(request.path)
        user_id = _user_id(request)
        request_logger.info(
            "%s %s %s %.0fms user=%s request=%s",
            request.method,
            path,
            response.status_code,
            duration,
            user_id or "-",
            request_id,
            extra={
                "method": request.method,
                "path": path,
                "query": sorted(request.GET.keys()),
                "route": match.route if match else None,
                "ids": {
                    key: value
                    for key, value in (match.kwargs if match else {}).items()
                    if isinstance(value, int)
                },
                "status": response.status_code,
                "duration_ms": round(duration, 1),
                "user_id": user_id,
                "request_id": request_id,
            },
        )
        response["X-Request-ID"] = request_id
        return response
