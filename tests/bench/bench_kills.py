"""The worker-kill fault test at a few hundred contacts (the suite runs it with 120, bounded
for CI): two workers, three SIGKILLs in the middle of a voice campaign through the sandbox,
on the configured database and broker. Prints the run's size, time and invariants:
`kill_contacts`, `kill_seconds`, and `kill_lost`, `kill_over_limit` (0 each: a test failure
otherwise), `kill_not_placed` (attempts that never reached the carrier, not counted against
their contact). WAIHU_BENCH_KILL_CONTACTS sets the size (300)."""

import json
import os
import subprocess
import sys

from tests.bench.bench_dialer import ROOT

CONTACTS = int(os.environ.get("WAIHU_BENCH_KILL_CONTACTS", "300"))
TEST = (
    "tests/outbound/test_dialer_kills.py::"
    "test_workers_killed_mid_campaign_lose_no_contact_and_leave_no_call_open"
)


def main() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", TEST],
        cwd=ROOT,
        env={**os.environ, "WAIHU_KILL_CONTACTS": str(CONTACTS)},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    line = next((x for x in run.stdout.splitlines() if x.startswith("kill figures: ")), None)
    if run.returncode != 0 or line is None:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n", file=sys.stderr)
        raise RuntimeError("the kill test failed")
    figures = json.loads(line.removeprefix("kill figures: "))
    print(f"bench: kill_contacts {figures['contacts']} contacts", flush=True)
    print(f"bench: kill_seconds {figures['seconds']:.1f} s", flush=True)
    print(f"bench: kill_lost {figures['lost']} attempts", flush=True)
    print(f"bench: kill_not_placed {figures['not_placed']} attempts", flush=True)
    print(f"# kill run: {json.dumps(figures)}", flush=True)


if __name__ == "__main__":
    main()
