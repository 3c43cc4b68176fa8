"""What outbound adds to the lower apps' pages through their hooks."""

from django.urls import reverse

from outbound.selectors import orders_visible_to


def questionnaire_usage(version_ids: list[int], user) -> dict[int, list[tuple[str, str]]]:
    """The work orders, among those the user may open, that pinned each version."""
    usage: dict[int, list[tuple[str, str]]] = {}
    rows = (
        orders_visible_to(user=user)
        .filter(questionnaire_id__in=version_ids)
        .order_by("-created_at")
        .values_list("questionnaire_id", "pk", "title")
    )
    for version_id, pk, title in rows:
        usage.setdefault(version_id, []).append(
            (title, reverse("outbound:order_detail", args=[pk]))
        )
    return usage
