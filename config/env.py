"""Reading settings from the environment; a bad value stops start-up naming the variable."""

import os
from collections.abc import Callable
from datetime import time
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _get(name: str, default: T, convert: Callable[[str], T], expected: str) -> T:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return convert(raw.strip())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name}={raw!r} is not valid: expected {expected} ({exc})."
        ) from exc


def env_str(name: str, default: str) -> str:
    return _get(name, default, str, "a string")


def env_choice(name: str, default: str, choices: tuple[str, ...], expected: str) -> str:
    def convert(value: str) -> str:
        if value not in choices:
            raise ValueError(f"not one of {', '.join(repr(c) for c in choices)}")
        return value

    return _get(name, default, convert, expected)


def env_bool(name: str, default: bool) -> bool:
    def convert(value: str) -> bool:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("not a boolean")

    return _get(name, default, convert, "true or false")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    def convert(value: str) -> int:
        number = int(value)
        if minimum is not None and number < minimum:
            raise ValueError(f"must be at least {minimum}")
        return number

    return _get(name, default, convert, "a whole number")


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    def convert(value: str) -> float:
        number = float(value)
        if minimum is not None and number < minimum:
            raise ValueError(f"must be at least {minimum}")
        return number

    return _get(name, default, convert, "a number")


def env_list(name: str, default: list[str]) -> list[str]:
    return _get(
        name,
        default,
        lambda v: [item.strip() for item in v.split(",") if item.strip()],
        "a comma-separated list",
    )


def env_time(name: str, default: time) -> time:
    return _get(name, default, time.fromisoformat, "a time such as 09:00")


def env_weekdays(name: str, default: list[int]) -> list[int]:
    def convert(value: str) -> list[int]:
        days = sorted({int(item) for item in value.split(",") if item.strip()})
        if not days or any(day < 1 or day > 7 for day in days):
            raise ValueError("weekdays are numbered 1 (Monday) to 7 (Sunday)")
        return days

    return _get(name, default, convert, "weekday numbers such as 1,2,3,4,5")


def env_url(name: str, default: str, parse: Callable[[str], T], schemes: tuple[str, ...]) -> T:
    def convert(value: str) -> T:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in schemes:
            raise ValueError(f"the scheme must be one of {', '.join(schemes)}")
        return parse(value)

    if not os.environ.get(name, "").strip():
        return parse(default)
    return _get(name, parse(default), convert, "a URL")
