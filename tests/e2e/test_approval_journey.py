"""A work order travels the whole chain in Chromium: filed, returned once, resubmitted,
approved by every step's approver, with the timeline to show for it."""

import datetime

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest
from outbound.models import WorkOrder
from tests.e2e.conftest import login, logout
from tests.factories import Org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def act(page, live_server, order: WorkOrder, actor, action: str, comment: str = "") -> None:
    login(page, live_server, actor.username)
    # The approver finds the order in the inbox, as they would.
    page.click("#nav-inbox")
    page.click(f"[data-testid=inbox] a:has-text('{order.title}')")
    page.wait_for_selector("#decide")
    if comment:
        page.fill("textarea[name=comment]", comment)
    page.click(f"#decide button[value={action}]")
    page.wait_for_selector(".alert-success")
    logout(page)


def test_order_travels_the_chain(page, context_factory, live_server):
    org = Org()
    assert org.questionnaire.is_published  # before the administrator opens the assignment
    today = timezone.localdate()

    # The requester files and submits an order.
    login(page, live_server, "req")
    page.click("nav >> text=New order")
    page.fill("input[name=title]", "Complaint callback, November")
    page.select_option("select[name=kind]", "complaint_callback")
    page.fill("textarea[name=background]", "Complaints answered in November.")
    page.fill("textarea[name=purpose]", "Check the complainants are satisfied.")
    page.fill("textarea[name=target_description]", "Everyone whose complaint closed.")
    page.fill("input[name=expected_contacts]", "300")
    page.fill("input[name=desired_start]", str(today + datetime.timedelta(days=2)))
    page.fill("input[name=desired_end]", str(today + datetime.timedelta(days=9)))
    page.click("button:has-text('Save draft')")
    page.wait_for_selector("text=saved as a draft")
    page.click("button:has-text('Submit for approval')")
    page.wait_for_selector("text=submitted for approval")
    logout(page)
    order = WorkOrder.objects.get(title="Complaint callback, November")

    # Step 1: the leader of the requester's department approves, on a phone-sized screen.
    phone = context_factory(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    login_phone = mobile
    login_phone.goto(f"{live_server.url}/login/")
    login_phone.fill("input[name=username]", "leader")
    login_phone.fill("input[name=password]", "pw")
    login_phone.click("button[type=submit]")
    login_phone.goto(f"{live_server.url}{order.get_absolute_url()}")
    approve = login_phone.locator("#decide button[value=approve]")
    box = approve.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    approve.click()
    login_phone.wait_for_selector(".alert-success")

    # Step 2: the outbound administrator reviews.
    act(page, live_server, order, org.outbound_admin, "approve")
    # Step 3: the customer-service department leader returns it once.
    act(page, live_server, order, org.cs_leader, "return", "Please add the budget.")
    assert ApprovalRequest.objects.get().status == "returned"

    # The requester edits and resubmits; it comes back to step 3.
    login(page, live_server, "req")
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.wait_for_selector("text=Please add the budget.")
    page.click("a:has-text('Edit')")
    page.fill("textarea[name=background]", "Complaints answered in November. Budget: 3,000 yuan.")
    page.click("button:has-text('Save draft')")
    page.click("button:has-text('Resubmit')")
    page.wait_for_selector("text=submitted for approval")
    logout(page)

    act(page, live_server, order, org.cs_leader, "approve")

    # Step 4: the outbound administrator assigns the team, dates and daily volume.
    login(page, live_server, org.outbound_admin.username)
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.select_option("select[name=questionnaire]", str(org.questionnaire.pk))
    page.check(f"input[name=team][value='{org.agent.pk}']")
    page.fill("input[name=daily_volume]", "80")
    page.click("#decide button[value=approve]")
    page.wait_for_selector(".alert-success")
    logout(page)

    act(page, live_server, order, org.centre_leader, "approve")
    act(page, live_server, order, org.agent, "approve")

    # The order is approved and its timeline shows every step.
    login(page, live_server, "req")
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    assert "Approved, ready to run" in page.inner_text("[data-testid=order-status]")
    timeline = page.inner_text("[data-testid=timeline]")
    for step in [
        "需求部门领导审批",
        "客服部外呼管理员审核",
        "客服部领导审批",
        "客服部外呼管理员分派任务",
        "客服中心领导审批安排",
        "客服中心外呼室执行外呼",
    ]:
        assert step in timeline
    assert timeline.count("Returned for changes") == 1
    assert "Resubmitted" in timeline
    assert "Please add the budget." in timeline
    order.refresh_from_db()
    assert order.run_status == WorkOrder.RunStatus.READY
    assert order.daily_volume == 80 and list(order.team.all()) == [org.agent]
    assert order.questionnaire == org.questionnaire
    assert org.questionnaire.questionnaire.name in page.inner_text("[data-testid=questionnaire]")
