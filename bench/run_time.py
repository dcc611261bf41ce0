"""Wall time of the run command (`valueledger run`) on a warm environment.

Warm means installed, sample sources generated and the dbt manifest current. Measured: a run into
an empty warehouse (every file loaded, every model built) and a re-run (files unchanged). Prints
the figures; the target for the foundation is at most 60 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "orchestration.cli"]


def timed_run(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([*CLI, "run", *args], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="valueledger-bench-"))
    env = {**os.environ, "VALUELEDGER_HOME": str(home)}
    try:
        warm_up = timed_run(env)  # generates the sources and prepares the manifest
        fresh, rerun = [], []
        for _ in range(args.repeat):
            (home / "warehouse.duckdb").unlink()
            fresh.append(timed_run(env))
            rerun.append(timed_run(env))
        print(f"first run (generates sample sources): {warm_up:6.1f} s")
        print(
            f"run into an empty warehouse:         {statistics.median(fresh):6.1f} s "
            f"(median of {args.repeat}: {', '.join(f'{t:.1f}' for t in fresh)})"
        )
        print(
            f"re-run, sources unchanged:            {statistics.median(rerun):6.1f} s "
            f"(median of {args.repeat}: {', '.join(f'{t:.1f}' for t in rerun)})"
        )
        print("target: at most 60 s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
