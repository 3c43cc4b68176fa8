"""Every page each demo role reaches reads in one language: on a Chinese page no English
sentence of Waihu's own (user data aside), and on an English page none of the catalogue's
Chinese; and dates are written one way (2026-12-02 18:30) in both. The demo is loaded as
on a first run and crawled through its links."""

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urldefrag, urlparse

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django.utils.translation import trans_real

from accounts.models import User
from tests.factories import ensure_reference_data

pytestmark = pytest.mark.exhaustive

ROLES = ("requester", "dept_leader", "outbound_admin", "cs_leader", "centre_leader", "agent1")
ROLES += ("analyst", "admin")
PAGES_PER_ROLE = 40
# Not pages of Waihu's own: files, the carrier's stand-in, the API, Django's admin (its own
# translations), and what signs out or changes the language.
SKIP = re.compile(
    r"^/(static|media|admin|sandbox|api|i18n|telephony|twilio)/|logout|download|/audio/|\.(xlsx|csv)$"
)
HREF = re.compile(r'href="(/[^"]*)"')
# Two English words in a row, the first of three letters or more: a phrase, not a code
# (Q3, RR1), a unit or a name (Excel, Twilio) standing alone.
ENGLISH = re.compile(r"\b[A-Za-z][a-z]{2,}[ ,]+[A-Za-z][a-z]+\b")
# Dates written another way than config/formats' (2026年12月2日, Dec. 2, 2026, 2026/12/02).
OTHER_DATES = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日|\b[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\b\d{4}/\d{1,2}/\d{1,2}\b"
)
CJK = re.compile(r"[\u4e00-\u9fff]")
# Names that stay as they are in Chinese.
KEPT = ("Twilio", "Excel", "Content-Security-Policy")


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes outside scripts and styles, and the titles,
    placeholders and labels that speak for controls. User data is marked `data-user` or sits
    in form values, which are left out."""

    HIDDEN = {"script", "style", "code", "pre", "textarea", "option"}

    def __init__(self):
        super().__init__()
        self.hidden = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(data.strip())


def crawl(username: str, language: str):
    client = Client()
    client.cookies["django_language"] = language
    client.force_login(User.objects.get(username=username))
    seen, queue = set(), deque(["/"])
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.popleft()
        if url in seen or SKIP.search(url):
            continue
        seen.add(url)
        response = client.get(url, follow=True)
        if "html" not in response.get("Content-Type", ""):
            continue
        assert response.status_code < 500, (username, url)
        body = response.content.decode()
        yield url, body
        for href in HREF.findall(body):
            href = urldefrag(href.replace("&amp;", "&"))[0]
            if urlparse(href).path and href not in seen:
                queue.append(href)


def visible(body: str) -> list[str]:
    parser = VisibleText()
    parser.feed(body)
    return parser.texts


@pytest.fixture
def demo(transactional_db, settings):
    """The demo committed as on a first run, so the approvals' on-commit events fire."""
    settings.DEBUG = True
    ensure_reference_data()
    call_command("seed_demo", stdout=StringIO())
    return User.objects.filter(username__in=ROLES).count()


def user_data() -> set[str]:
    """Texts the demo's people typed (titles, names, questions): Waihu shows them as they
    are, in whatever language they were written."""
    from outbound.models import Contact, WorkOrder
    from surveys.models import Choice, Question

    typed = set()
    for order in WorkOrder.objects.all():
        typed.update(filter(None, (order.title, order.purpose, order.background)))
    typed.update(Question.objects.values_list("text", flat=True))
    typed.update(Choice.objects.values_list("label", flat=True))
    typed.update(User.objects.values_list("display_name", flat=True))
    for contact in Contact.objects.all():
        typed.update(str(value) for value in vars(contact).values() if isinstance(value, str))
        typed.update(str(value) for value in (contact.attributes or {}).values())
    return typed


def test_each_page_reads_in_one_language(demo):
    assert demo == len(ROLES)
    english_found = chinese_pages_with_english()
    assert not english_found, "\n".join(english_found[:40])
    chinese_found = english_pages_with_chinese()
    assert not chinese_found, "\n".join(chinese_found[:40])


def chinese_pages_with_english() -> list[str]:
    typed = user_data()
    found = []
    for role in ROLES:
        for url, body in crawl(role, "zh-hans"):
            for text in visible(body):
                if text in typed or any(text.startswith(name) for name in KEPT):
                    continue
                # A Chinese sentence may quote a code or an example (例如 plan, city).
                if OTHER_DATES.search(text):
                    found.append(f"{role} {url}: date {text[:80]!r}")
                if ENGLISH.search(text) and not CJK.search(text):
                    found.append(f"{role} {url}: {text[:80]!r}")
    return sorted(set(found))


def english_pages_with_chinese() -> list[str]:
    with translation.override("zh-hans"):
        catalogue = trans_real.translation("zh-hans")._catalog
        chinese = {
            str(text)
            for key, text in catalogue.items()
            if isinstance(text, str) and CJK.search(text) and len(text) > 3
        }
    assert len(chinese) > 500  # the catalogue is loaded
    typed = user_data()
    found = []
    for role in ROLES:
        for url, body in crawl(role, "en"):
            for text in visible(body):
                if OTHER_DATES.search(text) and text not in typed:
                    found.append(f"{role} {url}: date {text[:80]!r}")
                if text in chinese and text not in typed:
                    found.append(f"{role} {url}: {text[:80]!r}")
    return sorted(set(found))
