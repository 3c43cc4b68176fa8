"""The satisfaction index over time on PostgreSQL: WAIHU_BENCH_INDEX_INTERVIEWS (1,000,000)
completed campaign interviews over 24 months, 4 brands, 14 regions and three kinds of
campaign (72 campaigns), five rating scales each counting as a level-three indicator.

- index_build_seconds: recounting the 24 months' kept counts (the hourly beat task
  recounts two of them);
- index_months_seconds: the leaders' page (24-month trend, every indicator with its
  interval, the changes and their tests, the complaint callbacks), the whole request
  through Django's test client, median of three;
- index_drill_seconds: an indicator's page with its campaigns, median of three;
- index_question_table_seconds: the same page with one campaign's question table (read
  from that campaign's interviews), median of three.

The rows are written by INSERT … SELECT over generate_series, cloning one interview made
through the models, into a throwaway schema dropped at the end. Needs PostgreSQL
(DATABASE_URL); on SQLite it says so and measures nothing."""

import os
import statistics
import time

INTERVIEWS = int(os.environ.get("WAIHU_BENCH_INDEX_INTERVIEWS", "1000000"))
MONTHS = 24
KINDS = ("satisfaction", "complaint_callback", "service_callback")
BRANDS = ("神州行", "全球通", "动感地带", "TD")
REGIONS = tuple(f"Region {i + 1:02d}" for i in range(14))
ITEMS = 5


def _say(name: str, value: float, unit: str) -> None:
    print(f"bench: {name} {value:.3g} {unit}", flush=True)


def _setup_django(schema: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    settings.CELERY_BROKER_URL = "memory://"
    settings.ALLOWED_HOSTS = ["*"]
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    connection.close()
    settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c search_path={schema}"


def _columns(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def _clone(table: str, template_id: int, n: int, overrides: dict[str, str]) -> None:
    """n copies of one row, `g` running from 1 to n in the overriding expressions."""
    from django.db import connection

    columns = _columns(table)
    values = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "  # noqa: S608
            f"FROM {table} t, generate_series(1, %s) g WHERE t.id = %s",
            [n, template_id],
        )


def _data() -> dict:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth.models import Group

    from accounts.models import Department, User
    from accounts.roles import Role
    from outbound.models import Contact, Interview, WorkOrder
    from reports.models import Indicator, IndicatorQuestion
    from surveys import services
    from surveys.models import Answer, AnswerChoice, Choice, QuestionType, Response

    department = Department.objects.create(name="Bench", code="bench")
    leader = User.objects.create(username="leader", department=department)
    leader.groups.add(Group.objects.get_or_create(name=Role.CS_CENTRE_LEADER)[0])
    version = services.questionnaire_create(name="Bench index")
    questions = [
        services.question_add(version=version, type=QuestionType.SCALE, text=f"满意度 {i + 1}")
        for i in range(ITEMS)
    ]
    parents = list(Indicator.objects.filter(level=2).order_by("position"))
    for i, q in enumerate(questions):
        leaf = Indicator.objects.create(
            code=f"item-{i + 1}", name=f"Item {i + 1}", level=3, parent=parents[i % len(parents)]
        )
        IndicatorQuestion.objects.create(indicator=leaf, question=q)
    today = time.strftime("%Y-%m-%d")
    orders = WorkOrder.objects.bulk_create(
        [
            WorkOrder(
                title=f"Campaign {m + 1}-{k}",
                kind=kind,
                background="-",
                purpose="-",
                target_description="-",
                expected_contacts=1,
                desired_start=today,
                desired_end=today,
                questionnaire=version,
                requester=leader,
                department=department,
                run_status=WorkOrder.RunStatus.READY,
            )
            for m in range(MONTHS)
            for k, kind in enumerate(KINDS)
        ]
    )
    first = min(o.pk for o in orders)
    # The template interview, made through the models.
    contact = Contact.objects.create(campaign=orders[0], phone="+8613800000000", brand="TD")
    from datetime import UTC, datetime

    moment = datetime(2024, 1, 15, tzinfo=UTC)
    response = Response.objects.create(
        version=version, status="completed", started_at=moment, finished_at=moment
    )
    interview = Interview.objects.create(
        campaign=orders[0],
        contact=contact,
        response=response,
        disposition="completed",
        closed_at=moment,
    )
    answers = []
    for q in questions:
        answer = Answer.objects.create(response=response, question=q, answered_at=moment)
        pick = AnswerChoice.objects.create(
            answer=answer, question=q, choice=Choice.objects.filter(question=q).first()
        )
        answers.append((q, answer, pick))
    n = INTERVIEWS
    month = "(g %% 24)"
    campaign = f"({first} + {month} * 3 + (g / 24) %% 3)"
    offset = 10
    brands = "ARRAY[" + ", ".join(f"'{b}'" for b in BRANDS) + "]"
    regions = "ARRAY[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    finished = (
        f"(timestamptz '2024-01-01 02:00+00' + {month} * interval '1 month' "
        "+ ((g / 72) %% 27) * interval '1 day' + (g %% 3600) * interval '1 second')"
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2026)")
    _clone(
        "outbound_contact",
        contact.pk,
        n,
        {
            "id": f"g + {offset}",
            "campaign_id": campaign,
            "phone": "'+86139' || lpad(g::text, 8, '0')",
            "brand": f"({brands})[1 + (g / 7) %% 4]",
            "region": f"({regions})[1 + (g / 5) %% 14]",
        },
    )
    _clone(
        "surveys_response",
        response.pk,
        n,
        {"id": f"g + {offset}", "started_at": finished, "finished_at": finished},
    )
    _clone(
        "outbound_interview",
        interview.pk,
        n,
        {
            "id": f"g + {offset}",
            "campaign_id": campaign,
            "contact_id": f"g + {offset}",
            "response_id": f"g + {offset}",
            "closed_at": finished,
        },
    )
    for k, (q, answer, pick) in enumerate(answers):
        ids = list(
            Choice.objects.filter(question=q).order_by("position").values_list("pk", flat=True)
        )
        # A skewed pick: most answers in the top two boxes, a brand and month effect.
        weights = "ARRAY[" + ", ".join(str(c) for c in ids) + "]"
        choice = f"({weights})[1 + LEAST(4, floor(random() * 3.2 + ((g / 7) %% 4) * 0.3)::int)]"
        answer_id = f"(g * {ITEMS} + {k} + {offset * ITEMS})"
        _clone(
            "surveys_answer",
            answer.pk,
            n,
            {"id": answer_id, "response_id": f"g + {offset}", "answered_at": finished},
        )
        _clone(
            "surveys_answerchoice",
            pick.pk,
            n,
            {"id": answer_id, "answer_id": answer_id, "choice_id": choice},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # The campaign of the satisfaction kind in December 2025 (month 23).
    return {"leader": leader.pk, "indicator": parents[0].pk, "campaign": first + 23 * 3}


def _median_request(client, url: str, data: dict) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        page = client.get(url, data)
        times.append(time.perf_counter() - started)
        assert page.status_code == 200, page.status_code
    return statistics.median(times)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        print("# bench_indextime needs PostgreSQL (DATABASE_URL); nothing measured", flush=True)
        return
    schema = os.environ.setdefault("WAIHU_BENCH_SCHEMA", f"bench_indextime_{os.getpid()}")
    _setup_django(schema)
    from django.db import connection

    try:
        print(
            f"# postgresql; {INTERVIEWS:,} interviews, {MONTHS} months, {len(BRANDS)} brands, "
            f"{len(REGIONS)} regions, {len(KINDS)} kinds, {ITEMS} items",
            flush=True,
        )
        started = time.perf_counter()
        made = _data()
        print(f"# data written in {time.perf_counter() - started:.0f} s", flush=True)
        from django.test import Client
        from django.urls import reverse

        from reports.indicators import add_months, monthly_rebuild
        from reports.models import MonthlyCount

        started = time.perf_counter()
        import datetime

        for i in range(MONTHS):
            monthly_rebuild(add_months(datetime.date(2024, 1, 1), i))
        _say("index_build_seconds", time.perf_counter() - started, "s")
        print(f"# kept rows: {MonthlyCount.objects.count():,}", flush=True)
        client = Client()
        from accounts.models import User

        client.force_login(User.objects.get(pk=made["leader"]))
        _say(
            "index_months_seconds",
            _median_request(client, reverse("reports:leaders"), {"period": "2025-12"}),
            "s",
        )
        _say(
            "index_drill_seconds",
            _median_request(
                client,
                reverse("reports:leaders_indicator", args=[made["indicator"]]),
                {"period": "2025-12"},
            ),
            "s",
        )
        _say(
            "index_question_table_seconds",
            _median_request(
                client,
                reverse("reports:leaders_indicator", args=[made["indicator"]]),
                {"period": "2025-12", "campaign": made["campaign"]},
            ),
            "s",
        )
    finally:
        connection.close()
        from tests.bench.children import drop_schema

        drop_schema()


if __name__ == "__main__":
    main()
