"""Helpers for the audit trail's tests: the events an action wrote, and an admin form's data
as a browser would post it."""

from contextlib import contextmanager
from html.parser import HTMLParser

from django.db.models import Max

from accounts.models import AuditEvent

ADDRESS = "10.20.30.40"


def _last_pk() -> int:
    return AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0


@contextmanager
def events_written():
    """The events written inside the block, oldest first (filled in when it ends)."""
    last = _last_pk()
    written: list[AuditEvent] = []
    yield written
    written.extend(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))


@contextmanager
def one_event(action, *, user, target=None, address=ADDRESS):
    """The block writes exactly one event: `action` by `user` from `address`, about
    `target` (a row, or a function giving the row once the block has made it)."""
    with events_written() as written:
        found: list[AuditEvent] = []
        yield found
    assert [e.action for e in written] == [str(action)], [
        (e.action, e.description) for e in written
    ]
    event = written[0]
    assert event.user == user
    assert event.username == (user.get_username() if user else "")
    assert event.address == address
    if target is not None:
        row = target() if callable(target) else target
        assert (event.target_type, event.target_id) == (row._meta.label_lower, str(row.pk))
    found.append(event)


@contextmanager
def no_event():
    with events_written() as written:
        yield
    assert not written, [(e.action, e.description) for e in written]


class _FormReader(HTMLParser):
    """The fields of the admin's change form (id ending in _form), with the values a
    browser would send: checked boxes only, the selected options, the textareas' text."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: tuple[str, bool, list[str], list[str]] | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_form = (attrs.get("id") or "").endswith("_form")
        if not self._in_form or (not attrs.get("name") and tag != "option"):
            return
        name = attrs.get("name")
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._add(name, attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = (name, "multiple" in attrs, [], [])
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select[3].append(value)
            if "selected" in attrs:
                self._select[2].append(value)
        elif tag == "textarea":
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data):
        if self._textarea is not None:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, multiple, chosen, options = self._select
            if chosen or multiple:
                self.data[name] = chosen
            elif options:
                self.data[name] = [options[0]]
            self._select = None


def admin_form_data(html: str) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(html)
    return reader.data
