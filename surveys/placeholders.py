"""Placeholders in script texts, such as {customer_name} or {brand}, filled at call time."""

import re
from collections.abc import Iterable, Mapping

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

CALL_PLACEHOLDERS = ("customer_name", "agent_name", "agent_no", "caller_number")
CONTACT_ATTRIBUTES = ("brand", "region", "segment")


def placeholders_known(extra: Iterable[str] = ()) -> frozenset[str]:
    """Every name a script may use: the call's own, the standard contact attributes and the
    questionnaire's declared extra attributes."""
    return frozenset((*CALL_PLACEHOLDERS, *CONTACT_ATTRIBUTES, *extra))


def placeholders_in(text: str) -> list[str]:
    """The placeholder names in a text, in order of first appearance, each once."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER_RE.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def placeholders_fill(text: str, context: Mapping[str, object]) -> str:
    """Replace each placeholder with its value from the context; a name the context does not
    hold stays visible as written, e.g. {plan}, so the reader notices it."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in context and context[name] is not None:
            return str(context[name])
        return match.group(0)

    return PLACEHOLDER_RE.sub(replace, text or "")


def placeholder_name_is_valid(name: str) -> bool:
    return bool(NAME_RE.match(name))
