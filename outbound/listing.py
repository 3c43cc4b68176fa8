"""What the list pages share: a page of fifty, sortable columns whose keys are whitelisted
(then the id, so equal keys keep one order from page to page), and links that keep the
filters."""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy
from django.http import QueryDict

PAGE_SIZE = 50


def page_of(params: QueryDict, items, per_page: int = PAGE_SIZE, count: int | None = None) -> Page:
    """The page the query string asks for; `count`, when the caller knows how many items
    there are (from kept counts), spares counting them again."""
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count
    return paginator.get_page(params.get("page"))


def query_without(params: QueryDict, *names: str) -> str:
    """The query string of `params` without `names` (and never the page number), for links
    that change those and keep every other filter."""
    query = params.copy()
    for name in ("page", *names):
        query.pop(name, None)
    return query.urlencode()


def _nullable(model, path: str) -> bool:
    """Whether the column at `path` (such as "requester__display_name") can be NULL: a
    nullable field on the way, or a relation followed backwards, which may find no row."""
    if path == "pk":
        return False
    opts = model._meta
    for part in path.split("__"):
        field = opts.get_field(part)
        if (field.auto_created and not field.concrete) or field.many_to_many or field.one_to_many:
            return True
        if getattr(field, "null", False):
            return True
        if field.is_relation:
            opts = field.related_model._meta
    return False


@dataclass(frozen=True)
class Column:
    label: str
    # The key of Sorting.keys that orders by this column; empty for a column not sorted on.
    sort: str = ""
    css: str = ""


class Sorting:
    """The `sort` parameter of a list: one of `keys` (each names the fields it orders by),
    with a leading minus for descending; anything else falls back to `default`."""

    def __init__(self, params: QueryDict, keys: dict[str, tuple[str, ...]], default: str):
        self.params = params
        self.keys = keys
        raw = params.get("sort", "")
        if raw.lstrip("-") not in keys:
            raw = default
        self.descending = raw.startswith("-")
        self.key = raw.lstrip("-")

    @property
    def value(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    def order_by(self, model) -> list[OrderBy]:
        """The ordering of `model`'s rows: the key's fields, then the id, all in the chosen
        direction. Columns that can be empty put the empty first when ascending on every
        database; the others are left plain, so that an index can serve the order."""

        def order(name: str) -> OrderBy:
            nulls = {}
            if _nullable(model, name):
                nulls = {"nulls_last": True} if self.descending else {"nulls_first": True}
            return F(name).desc(**nulls) if self.descending else F(name).asc(**nulls)

        return [order(name) for name in self.keys[self.key]] + [order("pk")]

    def headers(self, columns: list[Column]) -> list[dict]:
        """Each column's heading: a link that sorts by it (ascending first, then the other
        way round when it is already the sort), on the first page, with the filters."""
        base = query_without(self.params, "sort")
        headers = []
        for column in columns:
            active = bool(column.sort) and column.sort == self.key
            url = ""
            if column.sort:
                flip = f"-{column.sort}" if active and not self.descending else column.sort
                url = "?" + (f"{base}&" if base else "") + f"sort={flip}"
            headers.append(
                {
                    "label": column.label,
                    "key": column.sort,
                    "css": column.css,
                    "url": url,
                    "active": active,
                    "descending": active and self.descending,
                    "aria_sort": ("descending" if self.descending else "ascending")
                    if active
                    else "",
                }
            )
        return headers
