"""Actions that cannot be undone ask first: Stop on the campaign page, Reject on an order,
Publish on a questionnaire version. The question is a data-confirm attribute that the
script every page loads (waihu.js) puts to the user; the pages carry no script of their
own. The browser test (tests/e2e/test_campaign_page.py) clicks through the dialog."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from outbound.services import order_submit
from tests.factories import Org, make_order
from tests.outbound.test_dialer_fixtures import make_campaign, phones
from tests.surveys.factories import english_questionnaire

pytestmark = pytest.mark.django_db


class _Confirmations(HTMLParser):
    """{(form action, button value or ""): the question asked}, for every form or submit
    button with a data-confirm attribute; and whether waihu.js is loaded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: dict[tuple[str, str], str] = {}
        self.scripts: list[str] = []
        self._action = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._action = attrs.get("action") or ""
            if "data-confirm" in attrs:
                self.found[(self._action, "")] = attrs["data-confirm"]
        elif tag == "button" and "data-confirm" in attrs:
            self.found[(self._action, attrs.get("value") or "")] = attrs["data-confirm"]
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        for name in attrs:
            assert not name.startswith("on"), f"inline handler {name} on <{tag}>"


def _confirmations(response) -> _Confirmations:
    assert response.status_code == 200
    parser = _Confirmations()
    parser.feed(response.content.decode())
    assert "/static/waihu/waihu.js" in parser.scripts
    return parser


@pytest.fixture
def org():
    return Org()


def test_stop_asks_first_and_says_it_cannot_be_undone(client, org, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    order = make_campaign(org, phones=phones(1))
    client.force_login(org.outbound_admin)
    found = _confirmations(client.get(reverse("campaigns:detail", args=[order.pk]))).found
    stop = reverse("campaigns:control", args=[order.pk, "stop"])
    assert "cannot be undone" in found[(stop, "")]
    # Pausing can be undone, so it does not ask.
    assert not [key for key in found if key[0] != stop]


def test_reject_asks_first_and_approve_and_return_do_not(client, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    client.force_login(org.leader)
    found = _confirmations(client.get(order.get_absolute_url())).found
    decide = reverse("outbound:order_decide", args=[order.pk])
    assert set(found) == {(decide, "reject")}
    assert "cannot be undone" in found[(decide, "reject")]


@pytest.mark.parametrize("page", ["version_detail", "version_check"])
def test_publish_asks_first(client, org, page):
    draft = english_questionnaire(publish=False, created_by=org.outbound_admin)
    client.force_login(org.outbound_admin)
    found = _confirmations(client.get(reverse(f"surveys:{page}", args=[draft.pk]))).found
    publish = reverse("surveys:version_publish", args=[draft.pk])
    assert "cannot be undone" in found[(publish, "")]


def test_one_script_asks_on_every_page():
    """The shared script asks, for a form or the button that sends it; the designer's own
    script no longer does, or a designer would be asked twice."""
    static = Path(settings.BASE_DIR) / "static"
    shared = (static / "waihu" / "waihu.js").read_text()
    assert "event.submitter" in shared and "window.confirm" in shared
    assert "confirm(" not in (static / "surveys" / "designer.js").read_text()
