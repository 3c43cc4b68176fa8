"""Ways for higher apps to add to the questionnaire pages without this app importing them."""

from collections.abc import Callable, Iterable

# A provider takes version ids and the user looking, and returns
# {version_id: [(label, url), ...]}: what uses each version that this user may see
# (outbound registers the work orders that pinned it).
UsageProvider = Callable[[list[int], object], dict[int, list[tuple[str, str]]]]
_usage_providers: list[UsageProvider] = []


def register_usage_provider(provider: UsageProvider) -> None:
    if provider not in _usage_providers:
        _usage_providers.append(provider)


def version_usage(version_ids: Iterable[int], *, user) -> dict[int, list[tuple[str, str]]]:
    ids = list(version_ids)
    usage: dict[int, list[tuple[str, str]]] = {}
    for provider in _usage_providers:
        for version_id, uses in provider(ids, user).items():
            usage.setdefault(version_id, []).extend(uses)
    return usage
