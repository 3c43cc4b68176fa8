"""Fifty agents working one campaign at once, against Waihu served by gunicorn
(tests/bench/agent_wsgi.py: the sandbox plays every call) on the configured database (meant
for PostgreSQL: a throwaway schema of DATABASE_URL's database). Each simulated agent is a
thread with its own logged-in HTTP session and loops until the time is up: takes the next
contact (and opens its page), dials through the sandbox, waits for the customer to answer,
saves the twenty answers of the script, records the interview as completed.

- agents50_next_p95_ms: the 95th percentile of taking the next contact (the POST);
- agents50_answer_p95_ms: the same of saving an answer (the POST);
- agents50_double_assigned: contacts given to more than one agent (must be 0), counted
  from what the agents were handed and from the interviews kept;
- agents50_failures: requests that did not do what they should (an error, an answer
  refused), with the medians and the counts of each step beside them.

The campaign has WAIHU_BENCH_AGENTS50_CONTACTS contacts (100,000) and another running agent
campaign as many, so a claim that read other campaigns' queues would show; the kept counts
of the questionnaire are built first, so every answer updates them as in production.

Agents take THINK seconds (2.0) before each answer, as an agent reading the question out
would take longer; they start spread over the first START seconds (5), not all in the same
instant, once all have logged in. While the phones ring an agent asks for the call's state
every second, as the console does; the page a browser would load after each answer is not
requested (the answers' POSTs are what is measured). The benchmark's own threads share the
machine with the server, so its figures are an upper bound of what a separate server gives.
Every figure can be changed through WAIHU_BENCH_AGENTS50_<NAME>: AGENTS, SECONDS
(120: how long the agents work), CONTACTS, OTHER_CONTACTS, THINK, START, RING, WORKERS and
THREADS (gunicorn's)."""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

from tests.bench.bench_agent import _wait_for
from tests.bench.bench_dialer import ROOT, Stack, django_setup, say


def _figure(name: str, default: float) -> float:
    return float(os.environ.get(f"WAIHU_BENCH_AGENTS50_{name}", default))


AGENTS = int(_figure("AGENTS", 50))
SECONDS = _figure("SECONDS", 120)
CONTACTS = int(_figure("CONTACTS", 100_000))
OTHER_CONTACTS = int(_figure("OTHER_CONTACTS", 100_000))
THINK = _figure("THINK", 2.0)
START = _figure("START", 5.0)
RING = _figure("RING", 1.0)
WORKERS = int(_figure("WORKERS", 3))
THREADS = int(_figure("THREADS", 16))
QUESTIONS = 20
AGENT_PHONE = "+15005550100"  # the sandbox's number that always answers


# --- the data, made in a child process on the throwaway database ---------------------------


def _questionnaire(created_by):
    from surveys import services
    from surveys.models import Language, QuestionType

    version = services.questionnaire_create(
        name="满意度回访（二十题）", language=Language.ZH_HANS, created_by=created_by
    )
    services.version_update_parts(
        version=version,
        greeting_salutation="您好，{customer_name}。",
        greeting_introduction="我是客服中心的话务员。",
        transition_purpose="想请您回答二十个问题。",
        transition_duration_minutes=3,
        transition_cost="本次通话免费。",
        closing_summary="您的意见我们已经记下。",
        closing_thanks="感谢您的配合。",
        closing_wishes="祝您生活愉快！",
    )
    for n in range(1, QUESTIONS + 1):
        services.question_add(
            version=version, type=QuestionType.YES_NO, text=f"第{n}题：您对这项服务满意吗？"
        )
    services.version_publish(version=version)
    version.refresh_from_db()
    return version


def _contacts(campaign_id: int, count: int, prefix: str) -> None:
    """`count` contacts in one statement on PostgreSQL (generate_series), in batches
    elsewhere."""
    from django.db import connection

    from outbound.models import Contact

    if connection.vendor == "postgresql":
        table = Contact._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (campaign_id, phone, name, brand, region, segment, "  # noqa: S608
                "attributes, created_at) "
                "SELECT %s, %s || lpad(n::text, 7, '0'), '客户' || n, '', '', '', '{}', now() "
                "FROM generate_series(1, %s) AS n",
                [campaign_id, prefix, count],
            )
        return
    Contact.objects.bulk_create(
        (
            Contact(campaign_id=campaign_id, phone=f"{prefix}{n:07d}", name=f"客户{n}")
            for n in range(1, count + 1)
        ),
        batch_size=2000,
    )


def setup(agents: int, contacts: int, other: int) -> dict:
    from django.db import connection

    from accounts.roles import Role
    from outbound.dialer import services
    from outbound.models import CampaignSettings, WorkOrder
    from reports.tallies import tallies_rebuild
    from surveys.models import Choice
    from tests.factories import Org, UserFactory, make_order

    org = Org()
    version = _questionnaire(org.outbound_admin)
    team = [
        UserFactory(
            username=f"agent{n:02d}",
            department=org.centre,
            roles=[Role.CALL_AGENT],
            agent_no=f"{2000 + n}",
            phone=AGENT_PHONE,
        )
        for n in range(agents)
    ]
    campaigns = []
    for n, count in enumerate((contacts, other)):
        order = make_order(org.requester, mode=WorkOrder.Mode.AGENTS)
        WorkOrder.objects.filter(pk=order.pk).update(
            run_status=WorkOrder.RunStatus.READY, questionnaire=version
        )
        order.refresh_from_db()
        order.team.add(*team)
        _contacts(order.pk, count, f"+86138{n}")
        CampaignSettings.objects.update_or_create(
            campaign=order,
            defaults={
                "weekly_hours": {str(day): ["00:00", "23:59"] for day in range(1, 8)},
                "calls_on_holidays": True,
                "agent_dialing_mode": "preview",
                "max_concurrent": 100_000,
                "calls_per_second": 1000.0,
            },
        )
        services.campaign_start(campaign=order, user=org.outbound_admin)
        campaigns.append(order.pk)
    tallies_rebuild(version=version)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a load this size
    first = {
        question.code: question.choices.order_by("position", "pk").first().code
        for question in version.questions.order_by("position", "pk")
    }
    assert Choice.objects.filter(question__version=version).exists()
    return {
        "campaign": campaigns[0],
        "usernames": [user.username for user in team],
        "questions": list(first.items()),
    }


def check(campaign_id: int) -> dict:
    """What the database kept: contacts whose interviews went to more than one agent, and
    the interviews completed."""
    from django.db.models import Count

    from outbound.models import Interview

    shared = (
        Interview.objects.filter(campaign_id=campaign_id)
        .values("contact_id")
        .annotate(agents=Count("agent_id", distinct=True))
        .filter(agents__gt=1)
        .count()
    )
    completed = Interview.objects.filter(campaign_id=campaign_id, disposition="completed")
    return {"shared": shared, "completed": completed.count()}


def interview_contacts(campaign_id: int) -> dict:
    from outbound.models import Interview

    return {
        str(pk): contact
        for pk, contact in Interview.objects.filter(campaign_id=campaign_id).values_list(
            "pk", "contact_id"
        )
    }


# --- the simulated agents ----------------------------------------------------------------


class Agent(threading.Thread):
    """One agent's HTTP session, looping over contacts until `deadline`."""

    def __init__(self, base: str, username: str, campaign: int, questions, deadline: float):
        super().__init__(daemon=True)
        import requests

        self.http = requests.Session()
        self.base = base
        self.username = username
        self.campaign = campaign
        self.questions = questions
        self.deadline = deadline
        self.times: dict[str, list[float]] = {"next": [], "answer": [], "dial": [], "finish": []}
        self.taken: list[int] = []
        self.failures: Counter = Counter()
        self.completed = 0

    def _csrf(self) -> dict:
        return {"X-CSRFToken": self.http.cookies.get("csrftoken", "")}

    def _post(self, step: str, path: str, data: dict | None = None):
        started = time.perf_counter()
        response = self.http.post(
            self.base + path, data=data or {}, headers=self._csrf(), allow_redirects=False
        )
        self.times[step].append(time.perf_counter() - started)
        return response

    def login(self) -> None:
        self.http.get(self.base + "/login/")
        response = self.http.post(
            self.base + "/login/",
            data={
                "username": self.username,
                "password": "pw",
                "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", ""),
            },
            headers={"Referer": self.base + "/login/"},
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"{self.username} could not log in: {response.status_code}")

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                if not self.contact():
                    time.sleep(1)
            except Exception as error:  # counted; the agent takes the next contact
                self.failures[f"{type(error).__name__}: {str(error)[:80]}"] += 1
                time.sleep(1)

    def _wait_connected(self, interview: int) -> bool:
        until = time.monotonic() + 60
        while time.monotonic() < until:
            state = self.http.get(f"{self.base}/agent/interviews/{interview}/call.json").json()
            if state["connected"]:
                return True
            if state["phase"] == "ended":
                return False
            time.sleep(1.0)  # as often as the console asks while the phones ring
        return False

    def contact(self) -> bool:
        response = self._post("next", f"/agent/campaigns/{self.campaign}/next/")
        target = urllib.parse.urlparse(response.headers.get("Location", "")).path
        if response.status_code != 302 or "/agent/interviews/" not in target:
            self.failures["next: no contact given"] += 1
            return False
        interview = int(target.rstrip("/").split("/")[-1])
        self.taken.append(interview)
        self.http.get(self.base + target)  # the contact's card
        if time.monotonic() >= self.deadline:
            return True
        self._post("dial", f"/agent/interviews/{interview}/dial/")
        if not self._wait_connected(interview):
            self.failures["dial: the customer never came on the line"] += 1
            self._post(
                "finish", f"/agent/interviews/{interview}/finish/", {"disposition": "no_answer"}
            )
            return True
        for code, choice in self.questions:
            time.sleep(THINK)
            if time.monotonic() >= self.deadline:
                return True
            response = self._post(
                "answer",
                f"/agent/interviews/{interview}/answer/",
                {"question": code, "choices": choice},
            )
            if response.status_code != 302:
                self.failures[f"answer: {response.status_code}"] += 1
                return True
        response = self._post(
            "finish", f"/agent/interviews/{interview}/finish/", {"disposition": "completed"}
        )
        if response.status_code != 302:
            self.failures[f"finish: {response.status_code}"] += 1
        else:
            self.completed += 1
        return True


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="waihu-bench-agents50-") as tmp,
        Stack(Path(tmp), "bench_agents50") as stack,
    ):
        stack.env.update(
            {
                "CELERY_TASK_ALWAYS_EAGER": "true",
                "WAIHU_SANDBOX": "true",
                "WAIHU_SANDBOX_PLAY": "true",
                "WAIHU_SANDBOX_SHARES": "answered=100",
                "WAIHU_SANDBOX_OPT_OUT_PERCENT": "0",
                "WAIHU_SANDBOX_RING_MIN_SECONDS": str(RING),
                "WAIHU_SANDBOX_RING_MAX_SECONDS": str(RING),
                # The customer stays on the line until the agent's disposition hangs up.
                "WAIHU_SANDBOX_TALK_MIN_SECONDS": "600",
                "WAIHU_SANDBOX_TALK_MAX_SECONDS": "600",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_SECURE_COOKIES": "false",
            }
        )
        print(
            f"# database: {stack.vendor()}; {AGENTS} agents for {SECONDS:g} s on a campaign of "
            f"{CONTACTS:,} contacts (another of {OTHER_CONTACTS:,} running), {THINK:g} s "
            f"before each answer, rings of {RING:g} s; gunicorn {WORKERS} workers x "
            f"{THREADS} threads",
            flush=True,
        )
        made = stack.child(
            "tests.bench.bench_agents50", "setup", str(AGENTS), str(CONTACTS), str(OTHER_CONTACTS)
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "tests.bench.agent_wsgi:application",
                "--bind",
                f"127.0.0.1:{stack.port}",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "gthread",
                "--threads",
                str(THREADS),
                # Longer than an agent's pause between requests, as a proxy's would be.
                "--keep-alive",
                "75",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=stack.env,
        )
        stack.server = server
        _wait_for(stack.base)
        agents = [
            Agent(stack.base, username, made["campaign"], made["questions"], 0.0)
            for username in made["usernames"]
        ]
        for agent in agents:
            agent.login()
        # The clock starts once everyone has logged in (fifty password checks take a while).
        began = time.monotonic()
        for agent in agents:
            agent.deadline = began + START + SECONDS
        random.seed(50)
        starts = sorted(random.uniform(0, START) for _agent in agents)
        for agent, at in zip(agents, starts, strict=True):
            time.sleep(max(0.0, began + at - time.monotonic()))
            agent.start()
        for agent in agents:
            agent.join(timeout=SECONDS + START + 120)
        times = {step: [t for a in agents for t in a.times[step]] for step in agents[0].times}
        taken = [pk for agent in agents for pk in agent.taken]
        contacts = stack.child("tests.bench.bench_agents50", "interviews", str(made["campaign"]))
        handed = Counter(contacts.get(str(pk)) for pk in taken)
        by_agent: dict[int, set[str]] = {}
        for agent in agents:
            for pk in agent.taken:
                by_agent.setdefault(contacts.get(str(pk)), set()).add(agent.username)
        shared_here = sum(1 for names in by_agent.values() if len(names) > 1)
        kept = stack.child("tests.bench.bench_agents50", "check", str(made["campaign"]))
        failures = Counter()
        for agent in agents:
            failures.update(agent.failures)
        summary = {
            step: {
                "n": len(values),
                "median_ms": round(statistics.median(values) * 1000, 1) if values else None,
                "p95_ms": round(p95(values) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1) if values else None,
            }
            for step, values in times.items()
        }
        print(f"# steps: {json.dumps(summary)}", flush=True)
        print(
            f"# contacts taken: {len(taken)} ({len(handed)} distinct); completed "
            f"{sum(a.completed for a in agents)} (kept: {kept['completed']}); "
            f"failures: {dict(failures) or 0}",
            flush=True,
        )
        say("agents50_next_p95_ms", p95(times["next"]) * 1000, "ms")
        say("agents50_answer_p95_ms", p95(times["answer"]) * 1000, "ms")
        say("agents50_double_assigned", max(shared_here, kept["shared"]), "contacts")
        say("agents50_failures", sum(failures.values()), "requests")


def _child_main(action: str, *args: str) -> dict:
    django_setup()
    if action == "setup":
        return setup(int(args[0]), int(args[1]), int(args[2]))
    if action == "check":
        return check(int(args[0]))
    if action == "interviews":
        return interview_contacts(int(args[0]))
    raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(_child_main(*sys.argv[1:])))
