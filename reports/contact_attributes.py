"""What reports learn about the people who answered: the contact behind each response
(from outbound, which reports may read)."""

from __future__ import annotations

from django.db.models import QuerySet

from outbound.models import Interview


def attribute_source(responses: QuerySet) -> dict[int, dict[str, str]]:
    """{response id: the brand, region and segment of the interview's contact, with the
    list's other columns}, in one query. Responses taken outside a campaign are left out."""
    rows = (
        Interview.objects.filter(response__in=responses.order_by().values("pk"))
        .values_list(
            "response_id",
            "contact__brand",
            "contact__region",
            "contact__segment",
            "contact__attributes",
        )
        .order_by()
    )
    found: dict[int, dict[str, str]] = {}
    for response_id, brand, region, segment, extra in rows:
        values = {str(k): str(v) for k, v in (extra or {}).items() if v not in (None, "")}
        values.update(brand=brand, region=region, segment=segment)
        found[response_id] = values
    return found
