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


# --- the keyboard-driven shift -----------------------------------------------------------


@pytest.fixture
def timed_sandbox(live_server, settings, monkeypatch):
    """Sandbox calls that take their time, as a Celery worker's countdowns would play them:
    ringing and talking run on timers, so a call stays live until someone hangs up."""
    import threading

    from django.db import connections

    from outbound.sandbox import tasks

    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.WAIHU_SANDBOX_API_URL = ""
    settings.WAIHU_SANDBOX_PLAY = True
    settings.WAIHU_SANDBOX_SHARES = {"answered": 1}
    settings.WAIHU_SANDBOX_RING_SECONDS = (0.3, 0.3)
    settings.WAIHU_SANDBOX_TALK_SECONDS = (600.0, 600.0)
    timers = []

    def later(task):
        def apply_async(args=(), countdown=0, **options):
            def run():
                try:
                    task.run(*args)
                finally:
                    connections.close_all()

            timer = threading.Timer(countdown or 0, run)
            timer.daemon = True
            timers.append(timer)
            timer.start()

        return apply_async

    monkeypatch.setattr(tasks.sandbox_connect, "apply_async", later(tasks.sandbox_connect))
    monkeypatch.setattr(tasks.sandbox_hang_up, "apply_async", later(tasks.sandbox_hang_up))
    yield live_server
    for timer in timers:
        timer.cancel()


def keyboard_login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.focus("input[name=username]")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=current-user]")


def press(page, *keys: str) -> None:
    for key in keys:
        page.keyboard.press(key)


def on_the_line(page) -> None:
    """The customer has answered: Next is on and the ringing notice gone."""
    page.wait_for_selector("#call-state[data-connected=true][data-live=true]")
    page.wait_for_selector("[data-testid=ringing-notice].d-none", state="attached")


def question(page, code: str) -> None:
    page.wait_for_selector(f"[data-testid=question-code]:has-text('{code}')")
    page.wait_for_selector("[data-testid=answer-next]:not([disabled])")


def recorded(page, label: str) -> None:
    page.wait_for_selector(f"text=Recorded as “{label}”")


SHIFT = 20


def test_a_progressive_shift_of_twenty_contacts_by_keyboard_alone(context_factory, timed_sandbox):
    from outbound.models import AgentStateChange, ScriptReading

    org = Org()
    agent_campaign(
        org,
        phones=[f"+86138000001{n:02d}" for n in range(SHIFT)],
        agent_dialing_mode="progressive",
        progressive_delay_seconds=1,
    )
    live_server = timed_sandbox
    page = context_factory().new_page()
    keyboard_login(page, live_server, "agent")
    page.goto(f"{live_server.url}/agent/")
    press(page, "Enter")  # the first campaign's desk
    page.wait_for_selector("[data-testid=start-work]")
    press(page, "Enter")  # start work: the countdown runs, the first contact is dialled
    expected = {}
    for n in range(SHIFT):
        on_the_line(page)
        contact = page.inner_text("[data-testid=contact-phone]").strip()
        if n == 10:
            # A break asked for during the call: taken once the contact is finished.
            press(page, "p")
            page.wait_for_selector("[data-testid=pause-panel]:not(.d-none)")
            press(page, "1", "Enter")
            page.wait_for_selector("[data-testid=pause-asked]")
            on_the_line(page)
        kind = n % 4
        if kind == 0:
            # The whole interview, then Hang up, then Enter records it as completed.
            question(page, "Q1")
            press(page, "1", "Enter")
            question(page, "Q2")
            press(page, "2", "Enter")
            question(page, "Q5")
            press(page, "4", "Enter")
            question(page, "Q7")
            press(page, "9", "Enter")
            page.wait_for_selector("[data-testid=script-end][data-outcome=completed]")
            press(page, "h")
            page.wait_for_selector("[data-testid=call-phase]:has-text('Ended')")
            page.wait_for_selector("[data-testid=finish]:has-text('Record and close')")
            press(page, "Enter")
            recorded(page, "Completed")
            expected[contact] = "completed"
        elif kind == 1:
            # A wrong answer taken back with Backspace; a screen-out; E records it, hanging up.
            question(page, "Q1")
            press(page, "1", "Enter")
            question(page, "Q2")
            press(page, "Backspace")
            question(page, "Q1")
            press(page, "2", "Enter")
            page.wait_for_selector("[data-testid=script-end][data-outcome=screened_out]")
            press(page, "e", "Enter")
            recorded(page, "Not eligible")
            expected[contact] = "not_eligible"
        elif kind == 2:
            question(page, "Q1")
            press(page, "1", "Enter")
            question(page, "Q2")
            press(page, "r", "Enter")
            recorded(page, "Refused")
            expected[contact] = "refused"
        else:
            question(page, "Q1")
            press(page, "x", "Enter")
            recorded(page, "Do not call again")
            expected[contact] = "do_not_call"
        if n == 10:
            # Paused: nobody is dialled until the agent is ready again.
            page.wait_for_selector("[data-testid=paused-note]")
            page.wait_for_timeout(2500)
            assert Interview.objects.count() == n + 1
            assert "Break" in page.inner_text("[data-testid=agent-state]")
            press(page, "p")  # ready again
            page.wait_for_selector("[data-testid=countdown]")
    # Nobody is left: the desk says so.
    page.wait_for_selector("text=Nobody is due")

    interviews = Interview.objects.select_related("contact")
    assert {i.contact.phone: i.disposition for i in interviews} == expected
    assert all(i.closed_at is not None for i in interviews)
    # Every answered call kept its length, hung up by H or by the disposition.
    attempts = CallAttempt.objects.all()
    assert attempts.count() == SHIFT
    assert all(a.outcome == "answered" and a.duration is not None for a in attempts)
    steps = list(
        AgentStateChange.objects.filter(agent=org.agent)
        .order_by("started_at", "id")
        .values_list("state", flat=True)
    )
    assert steps.count("ringing") == SHIFT and steps.count("talking") == SHIFT
    assert steps.count("paused") == 1 and steps[:2] == ["ready", "ringing"]
    # The console timed the reading of every opening answered (all but the do-not-calls),
    # and of the closings read while the customer was still there (the screen-outs,
    # recorded before hanging up).
    readings = ScriptReading.objects.filter(agent=org.agent)
    opened = readings.filter(part="opening").values("interview").distinct().count()
    assert opened == len([n for n in range(SHIFT) if n % 4 != 3])
    assert readings.filter(part="closing").count() == len(range(1, SHIFT, 4))
    assert all(r.seconds > 0 and r.units > 0 for r in readings)


def _board_state(page, username: str, state: str) -> None:
    page.wait_for_selector(f"#agent-board tr[data-agent='{username}'][data-state='{state}']")


def test_the_supervisor_watches_an_agents_state_change(context_factory, timed_sandbox):
    org = Org()
    order = agent_campaign(org, phones=["+8613800000201", "+8613800000202"])
    live_server = timed_sandbox
    agent = context_factory().new_page()
    boss = context_factory().new_page()
    keyboard_login(agent, live_server, "agent")
    login(boss, live_server, "oadmin")
    boss.goto(f"{live_server.url}/agent/supervisor/")
    agent.goto(f"{live_server.url}/agent/campaigns/{order.pk}/")
    press(agent, "Enter")  # start work
    _board_state(boss, "agent", "ready")
    agent.wait_for_selector("[data-testid=next-contact]")
    press(agent, "Enter")  # preview mode: the next contact is held, not dialled
    agent.wait_for_selector("[data-testid=contact-card]")
    _board_state(boss, "agent", "preview")
    press(agent, "d")
    on_the_line(agent)
    _board_state(boss, "agent", "talking")
    row = boss.locator("#agent-board tr[data-agent='agent']")
    assert "Customer 0" in row.inner_text()
    agent.wait_for_timeout(1500)  # talking a while, the call timer running
    assert agent.inner_text("[data-testid=call-timer]") not in ("–", "0:00")
    press(agent, "h")
    agent.wait_for_selector("[data-testid=call-phase]:has-text('Ended')")
    _board_state(boss, "agent", "wrap_up")
    press(agent, "p")
    agent.wait_for_selector("[data-testid=pause-panel]:not(.d-none)")
    press(agent, "3", "Enter")  # after-call work
    _board_state(boss, "agent", "paused")
    assert "After-call work" in row.inner_text()
    press(agent, "p")  # ready: back to wrap-up, the disposition still to record
    _board_state(boss, "agent", "wrap_up")
    agent.wait_for_selector("[data-testid=agent-state][data-state=wrap_up]")
    press(agent, "r", "Enter")
    recorded(agent, "Refused")
    _board_state(boss, "agent", "ready")
    # The time in each state today is counted on the board.
    assert row.locator("[data-spent=talking]").inner_text() != "0:00"
    # Looking changes nothing; the page was never reloaded.
    assert boss.evaluate("performance.getEntriesByType('navigation').length") == 1
