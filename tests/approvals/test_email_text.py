"""E-mail subjects and text bodies are plain text: a title is written as it was typed;
only the HTML body escapes it."""

import pytest
from django.core import mail

from outbound.services import order_submit
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db
TITLE = 'Q&A <callback> for "Gold" & M-Zone'


def test_subject_and_text_keep_the_title_as_typed(django_capture_on_commit_callbacks):
    org = Org()
    order = make_order(org.requester, title=TITLE)
    with django_capture_on_commit_callbacks(execute=True):
        order_submit(order=order, user=org.requester)
    (message,) = [m for m in mail.outbox if m.to == ["leader@example.com"]]
    assert TITLE in message.subject and "&amp;" not in message.subject
    assert TITLE in message.body and "&lt;" not in message.body
    html = message.alternatives[0][0]
    assert "Q&amp;A &lt;callback&gt;" in html and "<callback>" not in html
