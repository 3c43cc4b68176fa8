"""Where reports learn the contact attributes (brand, region, segment) of the people who
answered. Interviews know nothing of contacts; the app that links the two registers a source
in its AppConfig.ready:

    from reports.hooks import register_attribute_source

    def contact_attributes(responses):  # a QuerySet of surveys.Response
        return {response_id: {"brand": ..., "region": ..., "segment": ...}, ...}

    register_attribute_source(contact_attributes)

A response missing from the mapping, or an attribute missing or blank, counts as unknown.
Until a source is registered, the pages say that no contact attributes are available."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

ATTRIBUTES = {
    "brand": _("Brand"),
    "region": _("Region"),
    "segment": _("Segment"),
}

AttributeSource = Callable[[QuerySet], Mapping[int, Mapping[str, str]]]

_sources: list[AttributeSource] = []
# Sources whose answer for an interview never changes once its contact is linked, so that
# counts by attribute can be kept as interviews change.
_fixed: list[AttributeSource] = []


def register_attribute_source(source: AttributeSource, *, fixed: bool = False) -> AttributeSource:
    """Register the provider of contact attributes; the latest registration wins. `fixed`
    says an interview's attributes never change once it is linked to its contact. Returns
    the callable so it can be used as a decorator."""
    if source in _sources:
        _sources.remove(source)
    _sources.append(source)
    if fixed and source not in _fixed:
        _fixed.append(source)
    return source


def unregister_attribute_source(source: AttributeSource) -> None:
    if source in _sources:
        _sources.remove(source)


def attributes_available() -> bool:
    return bool(_sources)


def attributes_fixed() -> bool:
    """Whether the registered source is fixed, so its attributes can be counted ahead."""
    return bool(_sources) and _sources[-1] in _fixed


def contact_attributes(responses: QuerySet) -> dict[int, dict[str, str]] | None:
    """{response id: {attribute: value}} for the responses, with values stripped and blanks
    dropped; None when no source is registered."""
    if not _sources:
        return None
    raw = _sources[-1](responses)
    cleaned: dict[int, dict[str, str]] = {}
    for response_id, attributes in raw.items():
        values = {
            name: str(attributes.get(name) or "").strip()
            for name in ATTRIBUTES
            if str(attributes.get(name) or "").strip()
        }
        cleaned[int(response_id)] = values
    return cleaned
