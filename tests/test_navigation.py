"""The navigation shows each role what it may do, and nothing it may not."""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

from approvals.models import ApprovalRequest
from outbound.models import WorkOrder
from outbound.services import order_submit
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db

LINKS = {
    "new_order": reverse("outbound:order_create"),
    "calling": reverse("agent:campaigns"),
    "supervisor": reverse("agent:supervisor"),
    "dnc": reverse("contacts:dnc_list"),
    "results": reverse("reports:version_list"),
}
EXPECTED = {
    "req": {"new_order"},
    "leader": set(),
    "oadmin": {"supervisor", "dnc", "results"},
    "agent": {"calling"},
    "analyst": {"results"},
}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_navigation_by_role(client, username):
    org = Org()
    user = {u.username: u for u in vars(org).values() if hasattr(u, "username")}[username]
    client.force_login(user)
    nav = client.get(reverse("outbound:order_list")).content.decode().split("</nav>")[0]
    shown = {name for name, url in LINKS.items() if f'href="{url}"' in nav}
    assert shown == EXPECTED[username]
    for name in shown:  # every link shown opens
        assert client.get(LINKS[name]).status_code == 200


def test_inbox_count_in_the_navigation(client):
    org = Org()
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    client.force_login(org.leader)
    page = client.get(reverse("outbound:order_list")).content.decode()
    assert 'data-testid="inbox-count">1<' in page


def test_an_approved_order_links_to_its_campaign(client):
    org = Org()
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    client.force_login(org.outbound_admin)
    assert (
        'data-testid="campaign-links"' not in client.get(order.get_absolute_url()).content.decode()
    )
    ApprovalRequest.objects.update(status="approved", current_step=None)
    WorkOrder.objects.update(run_status=WorkOrder.RunStatus.READY)
    page = client.get(order.get_absolute_url()).content.decode()
    assert reverse("campaigns:detail", args=[order.pk]) in page
    assert client.get(reverse("campaigns:detail", args=[order.pk])).status_code == 200
    assert client.get(reverse("contacts:campaign_contacts", args=[order.pk])).status_code == 200
    results = reverse("campaign_reports:results", args=[order.pk])
    assert results in page and client.get(results).status_code == 200
    client.force_login(org.requester)
    page = client.get(order.get_absolute_url()).content.decode()
    assert results in page and client.get(results).status_code == 200


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_has_the_icon_and_the_language_menu_names_each_language_in_itself(
    client, language
):
    client.cookies["django_language"] = language
    page = client.get(reverse("login")).content.decode()
    assert f'<link rel="icon" href="{static("waihu/favicon.svg")}"' in page
    assert '<option value="zh-hans" lang="zh-hans"' in page and ">简体中文</option>" in page
    assert '<option value="en" lang="en"' in page and ">English</option>" in page
    assert "英语" not in page and "Simplified Chinese" not in page


def test_the_icon_is_found_at_the_address_browsers_ask_for(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("waihu/favicon.svg")
    assert finders.find("waihu/favicon.svg").endswith("favicon.svg")
    assert client.post("/favicon.ico").status_code == 405
