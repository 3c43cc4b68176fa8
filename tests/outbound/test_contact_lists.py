"""A campaign's contacts and the lists never to call, at the customer's scale: search,
filters (overdue apart from at risk for complaint callbacks), sortable columns, pages of
fifty that keep the filters, and query counts that do not grow with the rows."""

import datetime
import re
from urllib.parse import parse_qs

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from outbound.contacts import services
from outbound.models import Contact, DialState, DoNotCallEntry, RedListEntry, WorkOrder
from outbound.services import order_submit
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db

# A Wednesday in Shanghai, so "today" is the same day wherever the tests run.
NOW = datetime.datetime(2026, 3, 4, 2, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 4)


@pytest.fixture
def org():
    return Org()


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _campaign(org, kind=WorkOrder.Kind.COMPLAINT_CALLBACK) -> WorkOrder:
    order = make_order(org.requester, kind=kind)
    order_submit(order=order, user=org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    return order


def _contact(campaign, n: int, *, days=None, status=None, name="") -> Contact:
    contact = Contact.objects.create(
        campaign=campaign,
        phone=f"+86138{n:08d}",
        name=name or f"Customer {n}",
        deadline=TODAY + datetime.timedelta(days=days) if days is not None else None,
    )
    if status:
        DialState.objects.create(contact=contact, campaign=campaign, status=status)
    return contact


def _phones(response) -> list[str]:
    return [contact.phone for contact in response.context["page"]]


def _url(campaign) -> str:
    return reverse("contacts:campaign_contacts", args=[campaign.pk])


# --- a campaign's contacts ----------------------------------------------------------------


@pytest.fixture
def complaints(org, settings):
    """A complaint callback with a contact in every position against its deadline."""
    settings.WAIHU_DEADLINE_RISK_DAYS = 1
    campaign = _campaign(org)
    return campaign, {
        "overdue_waiting": _contact(campaign, 1, days=-2, status="pending"),
        "overdue_unqueued": _contact(campaign, 2, days=-1),
        "past_but_reached": _contact(campaign, 3, days=-1, status="reached"),
        "due_today_dialing": _contact(campaign, 4, days=0, status="dialing"),
        "due_tomorrow": _contact(campaign, 5, days=1),
        "due_later": _contact(campaign, 6, days=2),
        "no_deadline": _contact(campaign, 7),
        "tomorrow_but_finished": _contact(campaign, 8, days=1, status="finished"),
    }


def test_overdue_is_apart_from_at_risk(client, org, complaints):
    campaign, c = complaints
    client.force_login(org.outbound_admin)
    overdue = client.get(_url(campaign), {"deadline": "overdue"})
    assert _phones(overdue) == [c["overdue_waiting"].phone, c["overdue_unqueued"].phone]
    at_risk = client.get(_url(campaign), {"deadline": "at_risk"})
    assert _phones(at_risk) == [c["due_today_dialing"].phone, c["due_tomorrow"].phone]
    everyone = client.get(_url(campaign))
    states = {contact.pk: contact.deadline_state for contact in everyone.context["page"]}
    assert states == {
        c["overdue_waiting"].pk: "overdue",
        c["overdue_unqueued"].pk: "overdue",
        c["past_but_reached"].pk: "",
        c["due_today_dialing"].pk: "at_risk",
        c["due_tomorrow"].pk: "at_risk",
        c["due_later"].pk: "",
        c["no_deadline"].pk: "",
        c["tomorrow_but_finished"].pk: "",
    }
    assert everyone.context["deadline_counts"] == {"overdue": 2, "at_risk": 2}
    html = everyone.content.decode()
    assert html.count('data-deadline-state="overdue"') == 2
    assert html.count('data-deadline-state="at_risk"') == 2
    assert 'href="?deadline=overdue"' in html and 'href="?deadline=at_risk"' in html


def test_the_risk_margin_is_a_setting(client, org, complaints, settings):
    campaign, c = complaints
    settings.WAIHU_DEADLINE_RISK_DAYS = 2
    client.force_login(org.outbound_admin)
    at_risk = client.get(_url(campaign), {"deadline": "at_risk"})
    assert c["due_later"].phone in _phones(at_risk)


def test_search_and_status_filters(client, org, complaints):
    campaign, c = complaints
    Contact.objects.filter(pk=c["due_later"].pk).update(name="张三")
    client.force_login(org.outbound_admin)
    assert _phones(client.get(_url(campaign), {"q": "张三"})) == [c["due_later"].phone]
    assert _phones(client.get(_url(campaign), {"q": "138 0000 0004"})) == [
        c["due_today_dialing"].phone
    ]
    assert _phones(client.get(_url(campaign), {"status": "reached"})) == [
        c["past_but_reached"].phone
    ]
    unqueued = client.get(_url(campaign), {"status": "not_queued"})
    assert _phones(unqueued) == [
        c[key].phone for key in ("overdue_unqueued", "due_tomorrow", "due_later", "no_deadline")
    ]
    both = client.get(_url(campaign), {"status": "not_queued", "deadline": "overdue"})
    assert _phones(both) == [c["overdue_unqueued"].phone]
    html = client.get(_url(campaign), {"status": "pending", "q": "nobody"}).content.decode()
    assert "No contact matches these filters." in html
    # Values that do not parse are ignored.
    assert len(_phones(client.get(_url(campaign), {"status": "lost", "deadline": "x"}))) == 8


def test_a_campaign_without_deadlines_has_no_deadline_filter(client, org):
    campaign = _campaign(org, kind=WorkOrder.Kind.SATISFACTION)
    _contact(campaign, 1, days=-5)
    client.force_login(org.outbound_admin)
    response = client.get(_url(campaign), {"deadline": "overdue"})
    assert "deadline" not in response.context["filters"].fields
    assert response.context["deadline_counts"] == {}
    assert len(_phones(response)) == 1
    assert 'data-testid="deadline-counts"' not in response.content.decode()


def test_contacts_sort_by_column(client, org, complaints):
    campaign, c = complaints
    client.force_login(org.outbound_admin)
    by_deadline = _phones(client.get(_url(campaign), {"sort": "deadline"}))
    # No deadline first, then the earliest; equal deadlines in the order they came in.
    assert by_deadline[:3] == [
        c["no_deadline"].phone,
        c["overdue_waiting"].phone,
        c["overdue_unqueued"].phone,
    ]
    assert by_deadline[3] == c["past_but_reached"].phone
    by_phone_down = _phones(client.get(_url(campaign), {"sort": "-phone"}))
    assert by_phone_down == sorted(by_phone_down, reverse=True)
    assert _phones(client.get(_url(campaign), {"sort": "nope"})) == _phones(
        client.get(_url(campaign))
    )


def test_contact_pages_keep_the_filters(client, org):
    campaign = _campaign(org, kind=WorkOrder.Kind.SATISFACTION)
    Contact.objects.bulk_create(
        Contact(campaign=campaign, phone=f"+86139{n:08d}", name="Page") for n in range(60)
    )
    _contact(campaign, 1, name="Elsewhere")
    client.force_login(org.outbound_admin)
    first = client.get(_url(campaign), {"q": "Page", "sort": "-phone"})
    assert first.context["page"].paginator.count == 60 and len(_phones(first)) == 50
    link = re.search(r'href="\?([^"]*page=2)"', first.content.decode()).group(1)
    assert parse_qs(link.replace("&amp;", "&")) == {
        "q": ["Page"],
        "sort": ["-phone"],
        "page": ["2"],
    }
    second = client.get(_url(campaign), {"q": "Page", "sort": "-phone", "page": "2"})
    assert _phones(second) == [f"+86139{n:08d}" for n in range(9, -1, -1)]


def _fill_campaign(campaign, start: int, count: int) -> None:
    """`count` contacts, every fourth overdue, every fourth at risk, half of them queued."""
    contacts = Contact.objects.bulk_create(
        Contact(
            campaign=campaign,
            phone=f"+86137{start + n:08d}",
            deadline=TODAY + datetime.timedelta(days=(n % 4) - 2),
            attributes={"套餐": "88元"},
        )
        for n in range(count)
    )
    DialState.objects.bulk_create(
        DialState(contact=contact, campaign=campaign) for contact in contacts[::2]
    )


@pytest.mark.parametrize("count", [5, 60])
def test_contact_list_query_count_does_not_grow(
    client, org, count, django_assert_num_queries, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    campaign = _campaign(org)
    _fill_campaign(campaign, 0, count)
    for _ in range(count // 5):
        services.import_create(
            campaign=campaign,
            user=org.requester,
            upload=SimpleUploadedFile("名单.csv", b"phone\r\n13812345678\r\n"),
        )
    client.force_login(org.outbound_admin)
    client.get(_url(campaign))
    # session, user, groups, the badge's count, the campaign, the pager's count, the page
    # of contacts with their dialing state, the deadline counts, the imports; and for the
    # at-risk margin in calling days, the campaign's settings and its calendar days; the
    # lists held for acceptance, waiting and decided
    with django_assert_num_queries(13):
        response = client.get(_url(campaign), {"sort": "status"})
    assert len(_phones(response)) == min(count, 50)
    assert response.context["deadline_counts"]["overdue"] > 0


# --- the do-not-call list and the red list -------------------------------------------------


def test_dnc_campaign_is_given_by_its_order_number(client, org):
    campaign = _campaign(org, kind=WorkOrder.Kind.SATISFACTION)
    draft = make_order(org.requester, title="A draft")
    client.force_login(org.outbound_admin)
    url = reverse("contacts:dnc_add")
    response = client.post(url, {"phone": "13812345678", "campaign": campaign.number})
    assert response.status_code == 302
    assert DoNotCallEntry.objects.get().campaign == campaign
    for bad in (draft.number, "WH-999999", "soon"):
        response = client.post(url, {"phone": "13900000000", "campaign": bad})
        assert response.status_code == 400, bad
        assert response.context["form"].errors["campaign"] == [
            "No approved campaign has this number."
        ]
    assert DoNotCallEntry.objects.count() == 1
    page = client.get(reverse("contacts:dnc_list")).content.decode()
    assert f"{campaign.number}</span> {campaign.title}" in page


def test_the_dnc_page_does_not_list_every_campaign(client, org):
    for i in range(3):
        make_order(org.requester, title=f"Approved campaign {i}")
    WorkOrder.objects.update(run_status=WorkOrder.RunStatus.READY)
    client.force_login(org.outbound_admin)
    page = client.get(reverse("contacts:dnc_list")).content.decode()
    assert "Approved campaign" not in page
    assert 'name="campaign"' in page and '<select name="campaign"' not in page


def _dnc(phone: str, **fields) -> DoNotCallEntry:
    return services.dnc_add(phone=phone, **{"source": "manual", **fields})


def test_dnc_filters_and_sort(client, org):
    campaign = _campaign(org, kind=WorkOrder.Kind.SATISFACTION)
    _dnc("13800000003", source="call", reason="按9")
    _dnc("13800000001", campaign=campaign)
    _dnc("13800000002", source="upload")
    client.force_login(org.outbound_admin)
    url = reverse("contacts:dnc_list")
    assert _phones(client.get(url, {"source": "call"})) == ["+8613800000003"]
    assert _phones(client.get(url, {"scope": "campaign"})) == ["+8613800000001"]
    assert _phones(client.get(url, {"scope": "global", "sort": "phone"})) == [
        "+8613800000002",
        "+8613800000003",
    ]
    # Newest first by default.
    assert _phones(client.get(url)) == ["+8613800000002", "+8613800000001", "+8613800000003"]
    assert _phones(client.get(url, {"sort": "-phone"}))[0] == "+8613800000003"
    html = client.get(url, {"source": "call", "q": "nobody"}).content.decode()
    assert "No entry matches these filters." in html


def test_red_list_period_filter(client, org):
    def red(phone, starts, ends):
        return services.red_list_add(
            phone=phone,
            starts_on=TODAY + datetime.timedelta(days=starts),
            ends_on=TODAY + datetime.timedelta(days=ends),
        )

    red("13800000001", -10, 10)
    red("13800000002", 1, 30)
    red("13800000003", -30, -1)
    red("13800000004", 0, 0)
    client.force_login(org.outbound_admin)
    url = reverse("contacts:red_list")
    assert timezone.localdate() == TODAY
    assert sorted(_phones(client.get(url, {"period": "current"}))) == [
        "+8613800000001",
        "+8613800000004",
    ]
    assert _phones(client.get(url, {"period": "upcoming"})) == ["+8613800000002"]
    assert _phones(client.get(url, {"period": "expired"})) == ["+8613800000003"]
    assert _phones(client.get(url, {"sort": "period"})) == [
        "+8613800000003",
        "+8613800000004",
        "+8613800000001",
        "+8613800000002",
    ]


def test_list_pages_keep_the_filters_in_their_links(client, org):
    for n in range(55):
        _dnc(f"1380000{n:04d}", source="upload")
    client.force_login(org.outbound_admin)
    first = client.get(reverse("contacts:dnc_list"), {"source": "upload", "removed": "1"})
    link = re.search(r'href="\?([^"]*page=2)"', first.content.decode()).group(1)
    assert parse_qs(link.replace("&amp;", "&")) == {
        "source": ["upload"],
        "removed": ["1"],
        "page": ["2"],
    }


def _fill_lists(org, campaign, start: int, count: int) -> None:
    for i in range(count):
        phone = f"137{start + i:08d}"
        _dnc(phone, campaign=campaign if i % 2 else None, added_by=org.outbound_admin)
        services.red_list_add(
            phone=phone,
            starts_on=TODAY,
            ends_on=TODAY + datetime.timedelta(days=100),
            added_by=org.outbound_admin,
        )
    for model in (DoNotCallEntry, RedListEntry):
        first = model.objects.order_by("pk").first()
        model.objects.filter(pk=first.pk).update(
            removed_at=first.created_at, removed_by=org.outbound_admin
        )


@pytest.mark.parametrize("count", [5, 60])
@pytest.mark.parametrize("name", ["dnc_list", "red_list"])
def test_list_page_query_count_does_not_grow(client, org, count, name, django_assert_num_queries):
    campaign = _campaign(org, kind=WorkOrder.Kind.SATISFACTION)
    _fill_lists(org, campaign, 0, count)
    client.force_login(org.outbound_admin)
    url = reverse(f"contacts:{name}")
    client.get(url)
    # session, user, groups, the badge's count, the pager's count, the page of entries with
    # who added and removed them (and the campaign), and nothing per row
    with django_assert_num_queries(6):
        response = client.get(url, {"removed": "1", "sort": "phone"})
    assert len(response.context["page"]) == min(count, 50)
