"""The audit trail's page, for the system administrators only: newest first, fifty events a
page, filtered by user, action, what the event concerned, dates (whole days in the centre's
time zone, shown as ISO dates in every language) and address, at a fixed number of queries
however long the trail grows."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.audit import AuditAction, audit_record
from accounts.models import AuditEvent
from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("accounts:audit_list")
CENTRE = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=CENTRE)


def record(when: datetime.datetime, *, user=None, action=AuditAction.DNC_ADD, target=None):
    with time_machine.travel(when, tick=False):
        return audit_record(user=user, action=action, target=target)


@pytest.fixture
def root(db):
    """A system administrator: staff, not a superuser (made before every event below, so
    the event that records it is the oldest)."""
    with time_machine.travel(datetime.datetime(2026, 2, 1, tzinfo=CENTRE), tick=False):
        return UserFactory(username="root", is_staff=True)


def shown(response) -> list[int]:
    assert response.status_code == 200
    return [event.pk for event in response.context["page"].object_list]


def test_only_system_administrators_open_the_page(client, root):
    analyst = UserFactory(username="ana", roles=[Role.ANALYST, Role.OUTBOUND_ADMIN])
    client.force_login(analyst)
    assert client.get(URL).status_code == 403
    nav = client.get(reverse("outbound:order_list")).content.decode().split("</nav>")[0]
    assert f'href="{URL}"' not in nav
    client.force_login(root)
    nav = client.get(reverse("outbound:order_list")).content.decode().split("</nav>")[0]
    assert f'href="{URL}"' in nav and 'href="/admin/"' in nav
    assert client.get(URL).status_code == 200
    client.force_login(UserFactory(username="su", is_superuser=True))
    assert client.get(URL).status_code == 200
    client.logout()
    assert client.get(URL).status_code == 302  # to the login page


def test_newest_first_fifty_a_page(client, root):
    earlier = list(AuditEvent.objects.values_list("pk", flat=True))
    events = [record(at(1) + datetime.timedelta(minutes=n)) for n in range(60)]
    newest_first = [e.pk for e in reversed(events)] + earlier
    client.force_login(root)
    first = client.get(URL)
    assert shown(first) == newest_first[:50]
    assert shown(client.get(URL, {"page": 2})) == newest_first[50:]
    assert "page=2" in first.content.decode()


def test_the_filters(client, root):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    baseline = set(AuditEvent.objects.values_list("pk", flat=True))
    a1 = record(at(1), user=alice, action=AuditAction.DNC_ADD, target=bob)
    b1 = record(at(1, 23, 30), user=bob, action=AuditAction.EXPORT_DOWNLOAD)
    b2 = record(at(2, 0, 10), user=bob, action=AuditAction.DNC_ADD, target=alice)
    a2 = record(at(3), user=alice, action=AuditAction.ROLES_CHANGE)
    client.force_login(root)

    def only(**query) -> set[int]:
        return set(shown(client.get(URL, query))) - baseline

    assert only() == {a1.pk, b1.pk, b2.pk, a2.pk}
    assert only(user="alice") == {a1.pk, a2.pk}
    assert only(action="dnc_add") == {a1.pk, b2.pk}
    assert only(target_type="accounts.user") == {a1.pk, b2.pk}
    # Whole days in the centre's time zone: 23:30 on the 1st is the 1st, 00:10 the 2nd.
    assert only(date_to="2026-03-01") == {a1.pk, b1.pk}
    assert only(date_from="2026-03-02") == {b2.pk, a2.pk}
    assert only(date_from="2026-03-02", date_to="2026-03-02") == {b2.pk}
    assert only(user="bob", action="dnc_add") == {b2.pk}
    assert only(user="nobody") == set()


def test_the_address_filter_and_pages_keep_the_filters(client, root, rf):
    alice = UserFactory(username="alice")
    for n in range(55):
        with time_machine.travel(at(1) + datetime.timedelta(minutes=n), tick=False):
            audit_record(
                user=alice,
                action=AuditAction.DNC_ADD,
                request=rf.get("/", REMOTE_ADDR="10.9.9.9" if n % 2 else "10.1.1.1"),
            )
    client.force_login(root)
    odd = shown(client.get(URL, {"address": "10.9.9.9"}))
    assert len(odd) == 27
    assert set(AuditEvent.objects.filter(pk__in=odd).values_list("address", flat=True)) == {
        "10.9.9.9"
    }
    first = client.get(URL, {"user": "alice", "address": "10.1.1.1"})
    assert len(shown(first)) == 28
    page = client.get(URL, {"user": "alice"}).content.decode()
    assert "user=alice&amp;page=2" in page


def test_dates_are_iso_in_chinese_too(root):
    chinese = Client(headers={"accept-language": "zh-hans"})
    chinese.force_login(root)
    page = chinese.get(URL, {"date_from": "2026-03-01", "date_to": "2026-03-02"})
    html = page.content.decode()
    assert page.status_code == 200 and 'lang="zh-hans"' in html
    for name, value in (("date_from", "2026-03-01"), ("date_to", "2026-03-02")):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'type="date"' in tag and f'value="{value}"' in tag


def test_a_backwards_date_range_is_shown_and_not_applied(client, root):
    early = record(at(1))
    late = record(at(5))
    client.force_login(root)
    page = client.get(URL, {"date_from": "2026-03-04", "date_to": "2026-03-02"})
    assert "The end date cannot be before the start date." in page.content.decode()
    got = shown(page)
    assert late.pk in got and early.pk not in got  # the valid start still applies


@pytest.mark.parametrize("count", [3, 120])
def test_the_query_count_is_fixed(client, root, count, django_assert_num_queries):
    users = [UserFactory(username=f"u{n}", display_name=f"User {n}") for n in range(4)]
    for n in range(count):
        record(
            at(1) + datetime.timedelta(minutes=n),
            user=users[n % 4] if n % 5 else None,
            action=AuditAction.ROLES_CHANGE,
            target=users[(n + 1) % 4],
        )
    client.force_login(root)
    client.get(URL)  # the session's first write
    # Session, user, the navigation's roles and inbox, the count, the page of events.
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200
    with django_assert_num_queries(6):
        assert (
            client.get(URL, {"user": "u1", "action": "roles_change", "page": 2}).status_code == 200
        )
