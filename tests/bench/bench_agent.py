"""Agent console benchmark: one simulated agent works two agent campaigns in Chromium by
keyboard alone, first one in preview mode, then one in progressive mode, against Waihu
served by gunicorn (tests/bench/agent_wsgi.py) whose sandbox plays every call for the same
fixed length:

- agent_contacts_per_hour: contacts finished an hour in progressive mode;
- agent_contacts_per_hour_preview: the same in preview mode;
- progressive_vs_preview: the first over the second (the goal is 1.3 or more).

The script is fixed: five questions, each answered with the first option. The simulated
agent behaves the same in both modes: REACTION seconds before every key they press, the
customer on the line for TALK seconds from the answer (then the customer hangs up), WRAP
seconds to decide the disposition; the phones ring RING seconds each (the agent's, then
the customer's). What only preview mode asks of the agent: taking the next contact (Enter),
reading its card before dialling (PREVIEW seconds: the name, the attributes, the earlier
calls and notes, what preview dialling is for) and dialling (D). Progressive mode dials by
itself PROGRESSIVE_DELAY seconds after the disposition. Every figure can be changed through
WAIHU_BENCH_AGENT_<NAME>; WAIHU_BENCH_AGENT_CONTACTS is the contacts worked in each mode."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bench_dialer import ROOT, Stack, django_setup, say


def _figure(name: str, default: float) -> float:
    return float(os.environ.get(f"WAIHU_BENCH_AGENT_{name}", default))


CONTACTS = int(_figure("CONTACTS", 4))
REACTION = _figure("REACTION", 1.0)
PREVIEW = _figure("PREVIEW", 15.0)
WRAP = _figure("WRAP", 3.0)
RING = _figure("RING", 1.5)
TALK = _figure("TALK", 20.0)
PROGRESSIVE_DELAY = int(_figure("PROGRESSIVE_DELAY", 3))
QUESTIONS = 5
CHROMIUM = os.environ.get("WAIHU_CHROMIUM", "/usr/bin/chromium")


# --- the data, made in a child process on the throwaway database ---------------------------


def _questionnaire(created_by):
    from surveys import services
    from surveys.models import Language, QuestionType

    version = services.questionnaire_create(
        name="满意度回访", language=Language.ZH_HANS, created_by=created_by
    )
    services.version_update_parts(
        version=version,
        greeting_salutation="您好，{customer_name}。",
        greeting_introduction="我是客服中心的话务员。",
        transition_purpose="想请您花一分钟回答五个问题。",
        transition_duration_minutes=1,
        transition_cost="本次通话免费。",
        closing_summary="您的意见我们已经记下。",
        closing_thanks="感谢您的配合。",
        closing_wishes="祝您生活愉快！",
    )
    for text in (
        "您对我们的网络信号满意吗？",
        "您对营业厅的服务满意吗？",
        "您对客服热线的服务满意吗？",
        "您对资费是否满意？",
        "您愿意向朋友推荐我们吗？",
    ):
        services.question_add(version=version, type=QuestionType.YES_NO, text=text)
    services.version_publish(version=version)
    version.refresh_from_db()
    return version


def setup(contacts: int) -> dict:
    from outbound.dialer import services
    from outbound.models import CampaignSettings, Contact, WorkOrder
    from tests.factories import Org, make_order

    org = Org()
    org.agent.phone = "+15005550100"  # the sandbox's number that always answers
    org.agent.save(update_fields=["phone"])
    version = _questionnaire(org.outbound_admin)
    campaigns = {}
    for n, mode in enumerate(("preview", "progressive")):
        order = make_order(org.requester, mode=WorkOrder.Mode.AGENTS)
        WorkOrder.objects.filter(pk=order.pk).update(
            run_status=WorkOrder.RunStatus.READY, questionnaire=version
        )
        order.refresh_from_db()
        order.team.add(org.agent)
        Contact.objects.bulk_create(
            Contact(campaign=order, phone=f"+861380{n}{k:06d}", name=f"客户{k}")
            for k in range(contacts)
        )
        CampaignSettings.objects.update_or_create(
            campaign=order,
            defaults={
                "weekly_hours": {str(day): ["00:00", "23:59"] for day in range(1, 8)},
                "agent_dialing_mode": mode,
                "progressive_delay_seconds": PROGRESSIVE_DELAY,
            },
        )
        services.campaign_start(campaign=order, user=org.outbound_admin)
        campaigns[mode] = order.pk
    return campaigns


def finished(campaign_id: int) -> dict:
    from outbound.models import CallAttempt, Interview

    return {
        "completed": Interview.objects.filter(
            campaign_id=campaign_id, disposition="completed"
        ).count(),
        "talked": sorted(
            CallAttempt.objects.filter(campaign_id=campaign_id).values_list("duration", flat=True)
        ),
    }


# --- the simulated agent ----------------------------------------------------------------


def _press(page, key: str) -> None:
    time.sleep(REACTION)
    page.keyboard.press(key)


def _contact(page, *, progressive: bool) -> None:
    """One contact, from the desk to the disposition, by keyboard."""
    if not progressive:
        page.wait_for_selector("[data-testid=next-contact]")
        _press(page, "Enter")
        page.wait_for_selector("[data-testid=contact-card]")
        time.sleep(PREVIEW)
        _press(page, "d")
    page.wait_for_selector("#call-state[data-connected=true]", timeout=120_000)
    for number in range(1, QUESTIONS + 1):
        page.wait_for_selector(f"[data-testid=question-code]:has-text('Q{number}')")
        page.wait_for_selector("[data-testid=answer-next]:not([disabled])")
        _press(page, "1")
        page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=script-end]")
    # The customer hangs up when the call's set length is over.
    page.wait_for_selector("#call-state[data-phase=ended]", timeout=120_000)
    time.sleep(WRAP)
    _press(page, "c")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Recorded as", timeout=60_000)


def shift(page, base: str, campaign: int, *, progressive: bool) -> float:
    """Works `CONTACTS` contacts of the campaign; returns the seconds it took, from the
    agent starting work to the last disposition."""
    page.goto(f"{base}/agent/campaigns/{campaign}/")
    page.wait_for_selector("[data-testid=start-work]")
    started = time.perf_counter()
    _press(page, "Enter")
    for _n in range(CONTACTS):
        _contact(page, progressive=progressive)
    return time.perf_counter() - started


def _login(page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.focus("input[name=username]")
    page.keyboard.type("agent")
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=current-user]")


def main() -> None:
    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"Chromium is needed at {CHROMIUM} (WAIHU_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="waihu-bench-agent-") as tmp,
        Stack(Path(tmp), "bench_agent") as stack,
    ):
        stack.env.update(
            {
                "CELERY_TASK_ALWAYS_EAGER": "true",
                # Without Twilio's credentials a campaign starts only on the sandbox.
                "WAIHU_SANDBOX": "true",
                "WAIHU_SANDBOX_PLAY": "true",
                "WAIHU_SANDBOX_SHARES": "answered=100",
                "WAIHU_SANDBOX_OPT_OUT_PERCENT": "0",
                "WAIHU_SANDBOX_RING_MIN_SECONDS": str(RING),
                "WAIHU_SANDBOX_RING_MAX_SECONDS": str(RING),
                "WAIHU_SANDBOX_TALK_MIN_SECONDS": str(TALK),
                "WAIHU_SANDBOX_TALK_MAX_SECONDS": str(TALK),
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_SECURE_COOKIES": "false",
            }
        )
        print(
            f"# database: {stack.vendor()}; {CONTACTS} contacts a mode, calls of {TALK:g} s, "
            f"rings of {RING:g} s, reaction {REACTION:g} s, preview {PREVIEW:g} s, "
            f"wrap-up {WRAP:g} s, progressive delay {PROGRESSIVE_DELAY} s",
            flush=True,
        )
        campaigns = stack.child("tests.bench.bench_agent", "setup", str(CONTACTS))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "tests.bench.agent_wsgi:application",
                "--bind",
                f"127.0.0.1:{stack.port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=stack.env,
        )
        stack.server = server
        _wait_for(stack.base)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_context(locale="en-US").new_page()
            page.set_default_timeout(60_000)
            _login(page, stack.base)
            seconds = {}
            for mode in ("preview", "progressive"):
                seconds[mode] = shift(
                    page, stack.base, campaigns[mode], progressive=mode == "progressive"
                )
                done = stack.child("tests.bench.bench_agent", "finished", str(campaigns[mode]))
                print(f"# {mode}: {seconds[mode]:.1f} s; {json.dumps(done)}", flush=True)
                if done["completed"] != CONTACTS:
                    raise RuntimeError(f"{mode}: {done['completed']} of {CONTACTS} completed")
            browser.close()
        per_hour = {mode: CONTACTS / seconds[mode] * 3600 for mode in seconds}
        say("agent_contacts_per_hour", per_hour["progressive"], "contacts/h")
        say("agent_contacts_per_hour_preview", per_hour["preview"], "contacts/h")
        say("progressive_vs_preview", per_hour["progressive"] / per_hour["preview"], "ratio")


def _wait_for(base: str) -> None:
    import contextlib
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{base}/telephony/health/", timeout=2)  # noqa: S310
            return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _child_main(action: str, *args: str) -> dict:
    django_setup()
    if action == "setup":
        return setup(int(args[0]))
    if action == "finished":
        return finished(int(args[0]))
    raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(_child_main(*sys.argv[1:])))
