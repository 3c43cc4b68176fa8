"""Results benchmarks against the configured database (PostgreSQL when DATABASE_URL names
it, else SQLite), over WAIHU_BENCH_INTERVIEWS (100,000) completed interviews of a
twenty-question questionnaire (about two million answers and two million selected choices):

- tables_seconds: every per-question table (median of three runs);
- export_seconds, export_peak_rss_mb: the whole workbook;
- export_time_vs_pandas, export_memory_vs_pandas: over pandas' DataFrame.to_excel
  (openpyxl engine) writing only the data sheet of the same interviews.

The rows are written with COPY (PostgreSQL) or executemany (SQLite) into a throwaway schema
or file, dropped at the end; each measurement runs in a fresh child process so that its
peak memory is its own."""

import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.bench.children import drop_schema, peak_rss_mb, run_child

INTERVIEWS = int(os.environ.get("WAIHU_BENCH_INTERVIEWS", "100000"))


def _vendor() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres", "pgsql")) else "sqlite"


def _django(work: Path, isolated: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    database = settings.DATABASES["default"]
    if isolated:
        if database["ENGINE"] == "django.db.backends.postgresql":
            schema = os.environ["WAIHU_BENCH_SCHEMA"]
            database.setdefault("OPTIONS", {})["options"] = f"-c search_path={schema}"
        else:
            database["NAME"] = str(work / "bench.sqlite3")
    settings.MEDIA_ROOT = work / "media"
    settings.CELERY_BROKER_URL = "memory://"
    import django

    django.setup()


def _questionnaire():
    """Twenty questions: eight single choices, five rating scales, three multiple choices,
    a yes/no, a recommendation score, a number and an open question."""
    from surveys import services
    from surveys.demo import DEMO_PARTS
    from surveys.models import QuestionType
    from surveys.presets import Preset

    version = services.questionnaire_create(name="Bench results")
    services.version_update_parts(version=version, **DEMO_PARTS)
    add = services.question_add
    for i in range(8):
        q = add(version=version, type=QuestionType.SINGLE, text=f"单选题 {i + 1}")
        for j in range(5):
            services.choice_add(question=q, label=f"选项 {j + 1}")
    for i in range(5):
        add(
            version=version,
            type=QuestionType.SCALE,
            preset=Preset.SATISFACTION_5,
            text=f"满意度 {i + 1}",
            allow_dont_know=True,
        )
    for i in range(3):
        q = add(version=version, type=QuestionType.MULTIPLE, text=f"多选题 {i + 1}")
        for j in range(6):
            services.choice_add(question=q, label=f"原因 {j + 1}")
    add(version=version, type=QuestionType.YES_NO, text="是否愿意再次接受回访？")
    add(version=version, type=QuestionType.NPS, text="您向朋友推荐我们的可能性有多大？")
    add(
        version=version,
        type=QuestionType.NUMBER,
        text="每月话费大约多少元？",
        min_value=0,
        max_value=2000,
        allow_refused=True,
    )
    add(version=version, type=QuestionType.TEXT, text="您还有什么建议？", required=False)
    services.version_publish(version=version)
    version.refresh_from_db()
    return version


_SUGGESTIONS = ["信号需要加强", "资费太贵", "客服很耐心", "希望多些优惠", "=1+1", ""]


def _rows(version, agent_id: int):
    """Yield (table, row) tuples of the interviews, answers and selected choices."""
    from surveys.models import Question

    rng = random.Random(20261122)
    questions = list(Question.objects.filter(version=version).order_by("position"))
    choices = {q.pk: [c.pk for c in q.choices.order_by("position")] for q in questions}
    answer_id = choice_row_id = 0
    start = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    for response_id in range(1, INTERVIEWS + 1):
        at = start + timedelta(seconds=response_id * 17)
        yield (
            "response",
            (response_id, version.pk, "completed", at, at + timedelta(minutes=5), None,
             f"1{rng.randrange(30, 90)}{rng.randrange(10**8):08d}", agent_id),
        )  # fmt: skip
        for q in questions:
            answer_id += 1
            number, text, special, picked = None, "", "", []
            if q.type in ("single", "scale", "yes_no"):
                if q.type == "scale" and rng.random() < 0.03:
                    special = "dk"
                else:
                    picked = [rng.choice(choices[q.pk])]
            elif q.type == "multiple":
                picked = rng.sample(choices[q.pk], rng.randint(1, 3))
            elif q.type == "nps":
                number = rng.randint(0, 10)
            elif q.type == "number":
                if rng.random() < 0.05:
                    special = "refused"
                else:
                    number = rng.randrange(0, 400, 5)
            else:
                text = rng.choice(_SUGGESTIONS)
            yield "answer", (answer_id, response_id, q.pk, number, text, special, at)
            for choice_id in picked:
                choice_row_id += 1
                yield "choice", (choice_row_id, answer_id, q.pk, choice_id, "")


def child_setup(work: Path) -> dict:
    if _vendor() == "postgresql":
        _django(work, isolated=False)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{os.environ["WAIHU_BENCH_SCHEMA"]}"')
        connection.close()
        from django.conf import settings

        settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c search_path={os.environ['WAIHU_BENCH_SCHEMA']}"
        )
    else:
        _django(work)
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0, interactive=False)
    from accounts.models import Department, User
    from surveys.models import Answer, AnswerChoice, Response

    department = Department.objects.create(name="Bench", code="bench")
    agent = User.objects.create(username="bench", department=department)
    version = _questionnaire()
    started = time.perf_counter()
    tables = {
        "response": (
            Response._meta.db_table,
            ["id", "version_id", "status", "started_at", "finished_at", "current_question_id",
             "reference", "created_by_id"],
        ),
        "answer": (
            Answer._meta.db_table,
            ["id", "response_id", "question_id", "number", "text", "special", "answered_at"],
        ),
        "choice": (
            AnswerChoice._meta.db_table,
            ["id", "answer_id", "question_id", "choice_id", "specify_text"],
        ),
    }  # fmt: skip
    counts = dict.fromkeys(tables, 0)
    if connection.vendor == "postgresql":
        # Three COPY streams cannot share a connection at once: buffer each to a file.
        import csv

        files = {name: (work / f"{name}.tsv").open("w", newline="") for name in tables}
        writers = {
            name: csv.writer(f, delimiter="\t", lineterminator="\n") for name, f in files.items()
        }
        for name, row in _rows(version, agent.pk):
            writers[name].writerow(["\\N" if v is None else v for v in row])
            counts[name] += 1
        for f in files.values():
            f.close()
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for name, (table, columns) in tables.items():
                with (
                    (work / f"{name}.tsv").open("rb") as f,
                    raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
                ):
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
                # Table names come from the models, not from input.
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT MAX(id) FROM {table}))"
                )
                cursor.execute(f"ANALYZE {table}")
    else:
        batches: dict[str, list] = {name: [] for name in tables}
        with transaction.atomic(), connection.cursor() as cursor:

            def flush(name: str) -> None:
                table, columns = tables[name]
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                    batches[name],
                )
                batches[name].clear()

            for name, row in _rows(version, agent.pk):
                batches[name].append(row)
                counts[name] += 1
                if len(batches[name]) >= 20000:
                    flush(name)
            for name in tables:
                flush(name)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "version": version.pk,
        "rows": counts,
        "seconds": time.perf_counter() - started,
    }


def child_tables(work: Path, version_id: str) -> dict:
    _django(work)
    from reports.selectors import scope_responses
    from reports.tables import question_tables
    from surveys.models import QuestionnaireVersion

    version = QuestionnaireVersion.objects.get(pk=int(version_id))
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        tables = question_tables(version=version, responses=scope_responses(version=version))
        runs.append(time.perf_counter() - started)
    assert tables[0].asked == INTERVIEWS, tables[0].asked
    assert sum(r.count for r in tables[0].rows) == INTERVIEWS
    # For scale: the plainest GROUP BY over every answer, on the same machine and moment.
    from django.db import connection

    plain = []
    with connection.cursor() as cursor:
        for _ in range(3):
            started = time.perf_counter()
            cursor.execute("SELECT question_id, COUNT(*) FROM surveys_answer GROUP BY question_id")
            cursor.fetchall()
            plain.append(time.perf_counter() - started)
    return {"runs": runs, "seconds": sorted(runs)[1], "plain_group_by": sorted(plain)[1]}


def child_export(work: Path, version_id: str) -> dict:
    _django(work)
    from reports.excel import workbook_write
    from reports.results import results_build
    from surveys.models import QuestionnaireVersion

    version = QuestionnaireVersion.objects.get(pk=int(version_id))
    target = work / "ours.xlsx"
    started = time.perf_counter()
    workbook_write(results=results_build(version=version), target=target)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "bytes": target.stat().st_size}


def child_pandas(work: Path, version_id: str) -> dict:
    """The usual way: load the interviews' answers into a DataFrame (one row per interview,
    one column per variable, as our data sheet) and let pandas write it with openpyxl."""
    _django(work)
    import pandas as pd

    from reports.excel import SPECIAL_CODES, _columns
    from reports.results import results_build
    from surveys.models import Answer, AnswerChoice, QuestionnaireVersion, Response

    version = QuestionnaireVersion.objects.get(pk=int(version_id))
    started = time.perf_counter()
    results = results_build(version=version)
    responses = pd.DataFrame.from_records(
        Response.objects.filter(version=version)
        .order_by("pk")
        .values("pk", "reference", "status", "started_at", "finished_at", "created_by__username")
    )
    responses.columns = ["id", "reference", "status", "started_at", "finished_at", "agent"]
    for column in ("started_at", "finished_at"):
        responses[column] = responses[column].dt.tz_localize(None)
    answers = pd.DataFrame.from_records(
        Answer.objects.filter(response__version=version).values(
            "response_id", "question_id", "number", "text", "special"
        )
    )
    chosen = pd.DataFrame.from_records(
        AnswerChoice.objects.filter(question__version=version).values(
            "answer__response_id", "question_id", "choice_id", "choice__code"
        )
    )
    frame = responses.set_index("id")
    for name, q, choice in _columns(results):
        mine = answers[answers.question_id == q.pk].set_index("response_id")
        special = mine.special.map(lambda s: SPECIAL_CODES.get(s))
        if choice is not None:
            picked = chosen[chosen.choice_id == choice.pk].answer__response_id
            column = pd.Series(0, index=mine.index)
            column[column.index.isin(picked)] = 1
        elif q.type in ("single", "scale", "yes_no", "multiple"):
            column = chosen[chosen.question_id == q.pk].set_index("answer__response_id")[
                "choice__code"
            ]
        elif q.type in ("number", "nps"):
            column = mine.number.astype(float)
        else:
            column = mine.text
        frame[name] = column.reindex(frame.index)
        frame.loc[special.dropna().index, name] = special.dropna()
    frame.reset_index().to_excel(work / "pandas.xlsx", sheet_name="Data", index=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "shape": list(frame.shape)}


def child_teardown(work: Path) -> dict:
    if _vendor() == "postgresql":
        _django(work, isolated=False)
        drop_schema()
    return {}


CHILDREN = {
    "setup": child_setup,
    "tables": child_tables,
    "export": child_export,
    "pandas": child_pandas,
    "teardown": child_teardown,
}


def _child(action: str, work: Path, *args: str) -> dict:
    return run_child("tests.bench.bench_reports", action, work, *args)


def _say(name: str, value: float, unit: str) -> None:
    print(f"bench: {name} {value:.3g} {unit}", flush=True)


def main() -> None:
    os.environ.setdefault("WAIHU_BENCH_SCHEMA", f"bench_reports_{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="waihu-bench-reports-") as tmp:
        work = Path(tmp)
        (work / "media").mkdir()
        print(f"# database: {_vendor()}; {INTERVIEWS:,} interviews", flush=True)
        try:
            setup = _child("setup", work)
            print(f"# data: {json.dumps(setup)}", flush=True)
            version = str(setup["version"])
            tables = _child("tables", work, version)
            print(f"# tables: {json.dumps(tables)}", flush=True)
            _say("tables_seconds", tables["seconds"], "s")
            _say("tables_vs_plain_group_by", tables["seconds"] / tables["plain_group_by"], "x")
            ours = _child("export", work, version)
            print(f"# export: {json.dumps(ours)}", flush=True)
            _say("export_seconds", ours["seconds"], "s")
            _say("export_peak_rss_mb", ours["peak_rss_mb"], "MB")
            theirs = _child("pandas", work, version)
            print(f"# pandas data sheet: {json.dumps(theirs)}", flush=True)
            _say("export_time_vs_pandas", ours["seconds"] / theirs["seconds"], "x")
            _say("export_memory_vs_pandas", ours["peak_rss_mb"] / theirs["peak_rss_mb"], "x")
        finally:
            _child("teardown", work)


if __name__ == "__main__":
    action, work, *rest = sys.argv[1:]
    print(json.dumps(CHILDREN[action](Path(work), *rest)))
