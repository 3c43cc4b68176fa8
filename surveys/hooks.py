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


# An observer is told, inside the transaction, that an interview of a version is about to
# change (response id None: about to be created), and returns what to call with the
# response's id once the change is written, still inside that transaction. Reports keep
# their counts up to date this way.
ResponseObserver = Callable[[int, int | None], Callable[[int], None]]
_response_observers: list[ResponseObserver] = []


def register_response_observer(observer: ResponseObserver) -> None:
    if observer not in _response_observers:
        _response_observers.append(observer)


def unregister_response_observer(observer: ResponseObserver) -> None:
    if observer in _response_observers:
        _response_observers.remove(observer)


def response_changing(*, version_id: int, response_id: int | None) -> Callable[[int], None]:
    """Tell the observers a response is about to change; call the result with its id after
    the change, in the same transaction."""
    after = [observer(version_id, response_id) for observer in _response_observers]

    def changed(changed_id: int) -> None:
        for done in after:
            done(changed_id)

    return changed
