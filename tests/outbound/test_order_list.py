"""The order list at the customer's scale: order numbers, search, filters, sortable
columns, pages of fifty that keep the filters, imported against planned contacts, and a
query count that does not grow with the orders in the database."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from outbound.models import Contact, WorkOrder
from outbound.services import order_decide, order_submit
from tests.factories import Org, UserFactory, make_order

pytestmark = pytest.mark.django_db

URL = reverse("outbound:order_list")


@pytest.fixture
def org():
    return Org()


def _submitted(org, requester=None, **overrides) -> WorkOrder:
    order = make_order(requester or org.requester, **overrides)
    order_submit(order=order, user=requester or org.requester)
    return order


def _titles(response) -> list[str]:
    return [order.title for order in response.context["page"]]


def test_order_numbers_are_shown_and_read_back(client, org):
    order = _submitted(org)
    assert order.number == f"WH-{order.pk:06d}"
    pk = order.pk
    numbers = (order.number, order.number.lower(), f"wh{pk}", str(pk), f" 00{pk} ")
    for text in numbers:
        assert WorkOrder.pk_from_number(text) == order.pk, text
    for text in ("", "WH-", "0", "WH-000000", "twelve", "12a"):
        assert WorkOrder.pk_from_number(text) is None, text
    client.force_login(org.outbound_admin)
    page = client.get(URL).content.decode()
    assert f'data-testid="order-number">{order.number}<' in page
    assert order.number in client.get(order.get_absolute_url()).content.decode()


def test_search_by_title_number_and_requester(client, org):
    alice = UserFactory(
        username="alice", display_name="王芳", department=org.marketing, roles=["requester"]
    )
    broadband = _submitted(org, title="Broadband repair callback")
    roaming = _submitted(org, alice, title="Roaming survey")
    _submitted(org, title="Marketing effect")
    client.force_login(org.outbound_admin)
    assert _titles(client.get(URL, {"q": "broadband"})) == [broadband.title]
    assert _titles(client.get(URL, {"q": roaming.number})) == [roaming.title]
    assert _titles(client.get(URL, {"q": str(roaming.pk)})) == [roaming.title]
    assert _titles(client.get(URL, {"q": "王芳"})) == [roaming.title]
    assert _titles(client.get(URL, {"q": "alice"})) == [roaming.title]
    assert _titles(client.get(URL, {"q": "nothing like it"})) == []
    assert "No order matches these filters." in client.get(URL, {"q": "zzz"}).content.decode()


def test_search_never_shows_an_order_the_user_may_not_see(client, org):
    theirs = _submitted(org, org.other_requester, title="Network order")
    client.force_login(org.leader)  # leads marketing, not the network department
    assert _titles(client.get(URL, {"q": theirs.number})) == []
    assert _titles(client.get(URL, {"q": "Network"})) == []


def test_filters_status_kind_department_and_filing_dates(client, org):
    day = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
    with time_machine.travel(day, tick=False):
        early = _submitted(org, title="Early", kind=WorkOrder.Kind.MARKETING)
    with time_machine.travel(day + datetime.timedelta(days=10), tick=False):
        returned = _submitted(org, title="Returned", kind=WorkOrder.Kind.COMPLAINT_CALLBACK)
        order_decide(order=returned, user=org.leader, action="return", comment="Which list?")
        network = _submitted(org, org.other_requester, title="Network")
    client.force_login(org.outbound_admin)
    assert _titles(client.get(URL, {"status": "returned"})) == ["Returned"]
    assert set(_titles(client.get(URL, {"status": "in_progress"}))) == {"Early", "Network"}
    assert _titles(client.get(URL, {"kind": "marketing"})) == ["Early"]
    assert _titles(client.get(URL, {"department": org.other.pk})) == ["Network"]
    assert set(_titles(client.get(URL, {"filed_from": "2026-03-12"}))) == {"Returned", "Network"}
    assert _titles(client.get(URL, {"filed_until": "2026-03-02"})) == ["Early"]
    assert _titles(client.get(URL, {"filed_from": "2026-03-03", "filed_until": "2026-03-11"})) == []
    combined = client.get(URL, {"status": "in_progress", "department": org.marketing.pk})
    assert _titles(combined) == [early.title]
    # A value that does not parse is ignored, not an error: the other filters still apply.
    response = client.get(URL, {"filed_from": "soon", "kind": "lottery", "department": "x"})
    assert response.status_code == 200 and len(_titles(response)) == 3
    assert network.title in _titles(client.get(URL, {"status": ""}))


def _sorted_titles(client, sort: str) -> list[str]:
    return _titles(client.get(URL, {"sort": sort}))


def test_columns_sort_both_ways_with_ties_in_a_stable_order(client, org):
    for title, contacts in (("Bravo", 300), ("Alpha", 300), ("Charlie", 100)):
        _submitted(org, title=title, expected_contacts=contacts)
    client.force_login(org.outbound_admin)
    assert _sorted_titles(client, "title") == ["Alpha", "Bravo", "Charlie"]
    assert _sorted_titles(client, "-title") == ["Charlie", "Bravo", "Alpha"]
    # Equal planned counts keep the order they were filed in (by id), reversed with the sort.
    assert _sorted_titles(client, "contacts") == ["Charlie", "Bravo", "Alpha"]
    assert _sorted_titles(client, "-contacts") == ["Alpha", "Bravo", "Charlie"]
    assert _sorted_titles(client, "number") == ["Bravo", "Alpha", "Charlie"]
    # The default is the newest first; a key that is not a column's falls back to it.
    assert _sorted_titles(client, "") == ["Charlie", "Alpha", "Bravo"]
    assert _sorted_titles(client, "requester__password") == ["Charlie", "Alpha", "Bravo"]


def test_column_headers_link_to_the_sort_and_keep_the_filters(client, org):
    _submitted(org, title="Alpha")
    client.force_login(org.outbound_admin)
    response = client.get(URL, {"q": "Alpha", "kind": "satisfaction", "sort": "title", "page": "1"})
    headers = {column["key"]: column for column in response.context["columns"]}
    title = headers["title"]
    assert title["active"] and not title["descending"]
    assert parse_qs(urlsplit(title["url"]).query) == {
        "q": ["Alpha"],
        "kind": ["satisfaction"],
        "sort": ["-title"],
    }
    assert parse_qs(urlsplit(headers["kind"]["url"]).query)["sort"] == ["kind"]
    page = response.content.decode()
    assert 'aria-sort="ascending"' in page and 'data-sort="status"' in page


def _many_orders(org, count: int) -> None:
    for i in range(count):
        _submitted(org, title=f"Order {i:03d}")


def test_pages_of_fifty_keep_the_filters_in_their_links(client, org):
    _many_orders(org, 55)
    _submitted(org, title="Elsewhere", kind=WorkOrder.Kind.MARKETING)
    client.force_login(org.outbound_admin)
    first = client.get(URL, {"q": "Order", "sort": "title"})
    assert first.context["page"].paginator.count == 55
    assert _titles(first) == [f"Order {i:03d}" for i in range(50)]
    links = re.findall(r'href="\?([^"]*page=2)"', first.content.decode())
    assert links, "no link to the second page"
    query = parse_qs(links[0].replace("&amp;", "&"))
    assert query == {"q": ["Order"], "sort": ["title"], "page": ["2"]}
    second = client.get(URL, {"q": "Order", "sort": "title", "page": "2"})
    assert _titles(second) == [f"Order {i:03d}" for i in range(50, 55)]
    # A page past the end shows the last one.
    assert _titles(client.get(URL, {"q": "Order", "sort": "title", "page": "99"})) == _titles(
        second
    )


def test_contacts_column_is_imported_over_planned(client, org):
    order = _submitted(org, title="Imported", expected_contacts=500)
    other = _submitted(org, title="None yet", expected_contacts=40)
    Contact.objects.bulk_create(
        Contact(campaign=order, phone=f"+8613800000{n:03d}") for n in range(3)
    )
    client.force_login(org.outbound_admin)
    response = client.get(URL)
    rows = {o.pk: o.imported_contacts for o in response.context["page"]}
    assert rows == {order.pk: 3, other.pk: 0}
    cells = re.findall(
        r'data-testid="order-contacts"><span[^>]*>([\d,]+)</span> / <span[^>]*>([\d,]+)</span>',
        response.content.decode(),
    )
    assert sorted(cells) == [("0", "40"), ("3", "500")]


def test_the_scope_buttons_keep_the_filters(client, org):
    mine = _submitted(org, title="Mine")
    _submitted(org, org.other_requester, title="Theirs")
    client.force_login(org.requester)
    response = client.get(URL, {"scope": "mine", "q": "M"})
    assert _titles(response) == [mine.title]
    assert 'href="?q=M&amp;scope=all"' in response.content.decode()


@pytest.mark.parametrize("count", [5, 60])
def test_order_list_query_count_does_not_grow(client, org, count, django_assert_num_queries):
    _many_orders(org, count)
    for order in WorkOrder.objects.order_by("pk")[:3]:
        Contact.objects.create(campaign=order, phone=f"+86138{order.pk:08d}")
    client.force_login(org.outbound_admin)
    client.get(URL)  # warm the session
    # session, user, groups, inbox count, departments for the filter, the count for the
    # pager, the page of orders, their approval requests, their imported contacts
    with django_assert_num_queries(9):
        response = client.get(URL, {"sort": "status"})
    assert response.content.decode().count("<tr data-order=") == min(count, 50)
    assert sum(order.imported_contacts for order in response.context["page"]) == 3


def test_dates_are_read_in_the_users_time_zone(client, org, settings):
    # 23:30 UTC on the 1st is the 2nd in Shanghai: filed on the 2nd.
    with time_machine.travel(datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)):
        _submitted(org, title="Late")
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE == "Asia/Shanghai"
    client.force_login(org.outbound_admin)
    assert _titles(client.get(URL, {"filed_from": "2026-03-02", "filed_until": "2026-03-02"})) == [
        "Late"
    ]
