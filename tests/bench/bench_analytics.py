"""Analytics benchmarks against the configured database (PostgreSQL when DATABASE_URL names
it, else SQLite), on bench_reports' twenty-question questionnaire loaded twice: with
WAIHU_BENCH_ANALYTICS_INTERVIEWS completed interviews (100,000 by default) and with a tenth
of them.

- tables_kept_seconds: every per-question table of the version from its kept counts (the
  median of five runs); at 1,000,000 interviews it is printed as tables_1m_seconds. The
  kept counts hold one row per distinct key, so their reading does not grow with the
  interviews; the growth of this figure from a tenth of the data is printed beside it.
- tallies_rebuild_seconds: counting the version afresh into kept counts (done once, by a
  task, when a version is first read; not part of any page).
- analytics_kept_p95_max_ms: the slowest page's 95th percentile of eleven views each, over
  the results page, the results page with a cross-tab, the analysis and the results index,
  through Django's test client on these interviews alone (bench_pages measures the same
  pages served by gunicorn among the whole data set, as analytics_p95_max_ms);
- analytics_growth_max: the largest ratio of a page's median at the full size to its
  median at a tenth of the data.

Each size runs in fresh child processes on a throwaway schema or file, dropped at the end."""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.children import run_child

INTERVIEWS = int(os.environ.get("WAIHU_BENCH_ANALYTICS_INTERVIEWS", "100000"))
VIEWS = 11


def _reports():
    from tests.bench import bench_reports

    return bench_reports


def child_rebuild(work: Path, version_id: str) -> dict:
    _reports()._django(work)
    from reports.tallies import tallies_rebuild
    from surveys.models import QuestionnaireVersion

    version = QuestionnaireVersion.objects.get(pk=int(version_id))
    started = time.perf_counter()
    rows = tallies_rebuild(version=version)
    return {"seconds": time.perf_counter() - started, "rows": rows}


def child_measure(work: Path, version_id: str) -> dict:
    _reports()._django(work)
    from django.test import Client

    from accounts.roles import Role
    from reports.db import analytics
    from reports.results import results_build
    from surveys.models import Question, QuestionnaireVersion
    from tests.factories import UserFactory

    version = QuestionnaireVersion.objects.get(pk=int(version_id))
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        with analytics():
            built = results_build(version=version)
        runs.append(time.perf_counter() - started)
    assert built.kept is not None
    assert built.tables[0].asked == INTERVIEWS_HERE(), built.tables[0].asked

    user = UserFactory(username=f"analyst{os.getpid()}", roles=[Role.ANALYST])
    client = Client()
    client.force_login(user)
    questions = Question.objects.filter(version=version).order_by("position")
    single, scale = questions[0], questions[8]
    pages = {
        "results": (f"/reports/versions/{version.pk}/", {}),
        "crosstab": (
            f"/reports/versions/{version.pk}/",
            {"row": single.pk, "column": f"q:{scale.pk}"},
        ),
        "analysis": (f"/reports/versions/{version.pk}/analysis/", {}),
        "index": ("/reports/", {}),
    }
    timings: dict[str, list[float]] = {}
    for name, (path, params) in pages.items():
        client.get(path, params)  # warm the caches
        timings[name] = []
        for _ in range(VIEWS):
            started = time.perf_counter()
            response = client.get(path, params)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    return {
        "tables_seconds": statistics.median(runs),
        "pages_ms": {
            name: {
                "median": statistics.median(values),
                "p95": sorted(values)[round(0.95 * (len(values) - 1))],
            }
            for name, values in timings.items()
        },
    }


def INTERVIEWS_HERE() -> int:
    return int(os.environ["WAIHU_BENCH_INTERVIEWS"])


CHILDREN = {"rebuild": child_rebuild, "measure": child_measure}


def _say(name: str, value: float, unit: str) -> None:
    print(f"bench: {name} {value:.3g} {unit}", flush=True)


def _one_size(interviews: int) -> dict:
    os.environ["WAIHU_BENCH_INTERVIEWS"] = str(interviews)
    os.environ["WAIHU_BENCH_SCHEMA"] = f"bench_analytics_{os.getpid()}_{interviews}"
    with tempfile.TemporaryDirectory(prefix="waihu-bench-analytics-") as tmp:
        work = Path(tmp)
        (work / "media").mkdir()
        try:
            setup = run_child("tests.bench.bench_reports", "setup", work)
            print(f"# {interviews:,} interviews: {json.dumps(setup)}", flush=True)
            version = str(setup["version"])
            rebuild = run_child("tests.bench.bench_analytics", "rebuild", work, version)
            print(f"# rebuild: {json.dumps(rebuild)}", flush=True)
            measured = run_child("tests.bench.bench_analytics", "measure", work, version)
            print(f"# measured: {json.dumps(measured)}", flush=True)
            return {"rebuild": rebuild, **measured}
        finally:
            run_child("tests.bench.bench_reports", "teardown", work)


def main() -> None:
    print(f"# database: {_reports()._vendor()}; {INTERVIEWS:,} and {INTERVIEWS // 10:,}")
    small = _one_size(INTERVIEWS // 10)
    large = _one_size(INTERVIEWS)
    name = "tables_1m_seconds" if INTERVIEWS == 1_000_000 else "tables_kept_seconds"
    _say(name, large["tables_seconds"], "s")
    _say("tables_growth", large["tables_seconds"] / small["tables_seconds"], "x")
    _say("tallies_rebuild_seconds", large["rebuild"]["seconds"], "s")
    _say("analytics_kept_p95_max_ms", max(p["p95"] for p in large["pages_ms"].values()), "ms")
    for page, figures in large["pages_ms"].items():
        print(f"# {page}: p95 {figures['p95']:.0f} ms, median {figures['median']:.0f} ms")
    _say(
        "analytics_growth_max",
        max(
            large["pages_ms"][page]["median"] / small["pages_ms"][page]["median"]
            for page in large["pages_ms"]
        ),
        "x",
    )


if __name__ == "__main__":
    action, work, *rest = sys.argv[1:]
    print(json.dumps(CHILDREN[action](Path(work), *rest)))
