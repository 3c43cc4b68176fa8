"""An agent's shift in Chromium: the next contact, a call through the sandbox to the
agent's phone and on to the customer, the script walked down a skip branch to the closing,
a completed interview; then another contact set to be called back."""

import datetime

import pytest
from django.utils import timezone

from outbound.models import CallAttempt, DialState, Interview
from surveys.models import ResponseStatus
from surveys.services import response_answers
from tests.e2e.conftest import login
from tests.factories import Org
from tests.outbound.test_agent_fixtures import agent_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sandbox_calls(live_server, settings):
    """Calls go through the sandbox served by the live server and play out at once."""
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.WAIHU_SANDBOX_API_URL = ""
    settings.WAIHU_SANDBOX_PLAY = True
    settings.WAIHU_SANDBOX_SHARES = {"answered": 1}
    settings.WAIHU_SANDBOX_RING_SECONDS = (0.0, 0.0)
    settings.WAIHU_SANDBOX_TALK_SECONDS = (0.0, 0.0)
    return live_server


def take_next(page, live_server, campaign_id: int) -> None:
    page.goto(f"{live_server.url}/agent/")
    page.click(f"[data-campaign='{campaign_id}'] [data-testid=next-contact]")


def dial(page) -> None:
    page.click("[data-testid=dial]")
    page.wait_for_selector("text=Your phone is ringing")
    # The status callbacks drive the call's state on the page.
    page.wait_for_selector("[data-testid=call-phase]:has-text('Ended')")


def answer(page, code: str, selector: str) -> None:
    page.wait_for_selector(f"[data-testid=question-code]:has-text('{code}')")
    page.check(selector)
    page.click("[data-testid=answer-next]")


def test_agent_completes_an_interview_and_sets_a_callback(page, sandbox_calls):
    org = Org()
    order = agent_campaign(
        org, phones=["+8613800000001", "+8613800000002"], caller_id="+8673110086"
    )
    first = order.contacts.order_by("pk").first()
    first.attributes = {"plan": "Family 128"}
    first.save()
    live_server = sandbox_calls

    login(page, live_server, "agent")
    take_next(page, live_server, order.pk)
    page.wait_for_selector("[data-testid=contact-card]")
    card = page.locator("[data-testid=contact-card]")
    assert "Customer 0" in card.inner_text() and "+8613800000001" in card.inner_text()
    assert "Family 128" in card.inner_text()
    assert "Good morning, Customer 0." in page.inner_text("[data-testid=opening]")
    dial(page)
    assert page.inner_text("[data-testid=call-duration]").endswith("s")
    attempt = CallAttempt.objects.get(contact=first)
    assert attempt.status == "completed" and attempt.call_sid

    # Yes, an adult; no hotline call, so the hotline questions are skipped.
    answer(page, "Q1", "input[name=choices][value='1']")
    answer(page, "Q2", "input[name=choices][value='2']")
    answer(page, "Q5", "input[name=choices][value='1']")
    # Back to Q5, to change the answer to "None of these", which skips to Q7.
    page.click("[data-testid=answer-back]")
    page.wait_for_selector("[data-testid=question-code]:has-text('Q5')")
    page.uncheck("input[name=choices][value='1']")
    answer(page, "Q5", "input[name=choices][value='9']")
    answer(page, "Q7", "input[name=number][value='10']")
    page.wait_for_selector("[data-testid=script-end][data-outcome=completed]")
    assert page.is_checked("input[name=disposition][value=completed]")
    page.fill("textarea[name=notes]", "Very friendly")
    page.click("[data-testid=finish]")
    page.wait_for_selector("text=Recorded as “Completed”")

    interview = Interview.objects.get(contact=first)
    assert interview.disposition == "completed" and interview.closed_at is not None
    assert interview.response.status == ResponseStatus.COMPLETED
    assert set(response_answers(response=interview.response)) == {"Q1", "Q2", "Q5", "Q7"}
    assert DialState.objects.get(pk=first.pk).status == DialState.Status.REACHED

    # The second contact asks to be called back tomorrow morning, by this agent.
    take_next(page, live_server, order.pk)
    page.wait_for_selector("[data-testid=contact-card]")
    assert "+8613800000002" in page.inner_text("[data-testid=contact-card]")
    dial(page)
    answer(page, "Q1", "input[name=choices][value='1']")
    page.check("input[name=disposition][value=callback]")
    when = timezone.localtime() + datetime.timedelta(days=1)
    when = when.replace(hour=10, minute=30, second=0, microsecond=0)
    page.fill("input[name=callback_at]", when.strftime("%Y-%m-%dT%H:%M"))
    page.check("input[name=callback_mine]")
    page.click("[data-testid=finish]")
    page.wait_for_selector("text=Recorded as “Call back”")
    second = order.contacts.order_by("pk").last()
    state = DialState.objects.get(pk=second.pk)
    assert state.status == DialState.Status.PENDING and state.callback_at == when
    interview = Interview.objects.get(contact=second)
    assert interview.closed_at is None and interview.callback_agent.username == "agent"
    # Nobody else is due now.
    take_next(page, live_server, order.pk)
    page.wait_for_selector("text=Nobody is due")
