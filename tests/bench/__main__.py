"""`python -m tests.bench`: runs every tests/bench/bench_*.py module's main(); each prints
its figures as `bench: NAME VALUE UNIT`."""

import importlib
import sys
import traceback
from pathlib import Path


def run() -> int:
    failed = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = f"tests.bench.{path.stem}"
        print(f"# {name}", flush=True)
        try:
            importlib.import_module(name).main()
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run())
