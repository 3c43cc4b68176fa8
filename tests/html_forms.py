"""Reads the forms of a rendered page the way a browser submits them, so a test can post a
form back exactly as it was shown."""

import re
from html.parser import HTMLParser

# What a browser accepts as the value of these inputs; it blanks anything else.
BROWSER_VALUES = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "datetime-local": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$"),
    "time": re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$"),
}


class _Form:
    def __init__(self, attrs: dict):
        self.attrs = attrs
        self.action = attrs.get("action") or ""
        self.method = (attrs.get("method") or "get").lower()
        self.fields: list[tuple[str, str]] = []
        self.inputs: dict[str, dict] = {}  # name -> attributes of the (first) input


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._form: _Form | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = _Form(attrs)
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            form.inputs.setdefault(name, attrs)
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            value = attrs.get("value", default)
            if kind in BROWSER_VALUES and not BROWSER_VALUES[kind].match(value):
                value = ""
            form.fields.append((name, value))
        elif tag == "select" and name:
            form.inputs.setdefault(name, attrs)
            self._select = {"name": name, "chosen": [], "first": None}
        elif tag == "option" and self._select is not None:
            selected = "selected" in attrs
            self._option = {"value": attrs.get("value"), "text": "", "selected": selected}
        elif tag == "textarea" and name:
            form.inputs.setdefault(name, attrs)
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def _close_option(self):
        option, self._option = self._option, None
        if option is None or self._select is None:
            return
        value = option["value"] if option["value"] is not None else option["text"].strip()
        if self._select["first"] is None:
            self._select["first"] = value
        if option["selected"]:
            self._select["chosen"].append(value)

    def handle_endtag(self, tag):
        if tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            select, self._select = self._select, None
            chosen = select["chosen"] or ([select["first"]] if select["first"] is not None else [])
            self._form.fields.extend((select["name"], value) for value in chosen)
        elif tag == "textarea" and self._textarea is not None:
            textarea, self._textarea = self._textarea, None
            # A browser drops the one newline that may follow <textarea>.
            text = textarea["text"].removeprefix("\r\n").removeprefix("\n")
            self._form.fields.append((textarea["name"], text))
        elif tag == "form":
            self._form = None


def page_forms(html: str) -> list[_Form]:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.forms


def page_form(html: str, action: str, *, page: str = "") -> _Form:
    """The form of the page that posts to `action` (a path); a form without an action
    posts to the page's own address, `page`."""
    found = [form for form in page_forms(html) if (form.action or page) == action]
    assert len(found) == 1, f"{len(found)} forms post to {action}"
    return found[0]


def form_data(form: _Form) -> dict[str, str | list[str]]:
    """The fields as the test client takes them: a list where a name repeats."""
    data: dict[str, str | list[str]] = {}
    for name, value in form.fields:
        if name in data:
            previous = data[name]
            data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[name] = value
    return data
