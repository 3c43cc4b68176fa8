"""What the benchmarks that measure in child processes share: running a step in a fresh
interpreter (so its peak memory is its own), that peak, and dropping the throwaway
PostgreSQL schema at the end."""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_child(module: str, action: str, work: Path, *args: str) -> dict:
    """Runs `python -m module action work args...` and returns the JSON its last line prints."""
    completed = subprocess.run(
        [sys.executable, "-m", module, action, str(work), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise RuntimeError(f"benchmark step {action} failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def drop_schema() -> None:
    """Drops the benchmark's schema (WAIHU_BENCH_SCHEMA) once Django is set up on it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{os.environ["WAIHU_BENCH_SCHEMA"]}" CASCADE')
