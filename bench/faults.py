"""The fault tests, long: every fault scenario again and again, PostgreSQL restarted many
times per round.

    .venv/bin/python bench/faults.py [--rounds 10] [--restarts 10]

Runs ``pytest -m faults`` (tests/faults) ``--rounds`` times with FAULT_RESTARTS set (restart
cycles of PostgreSQL under load in one test; `make test` does one), and reports the rounds
that failed. A fault that only shows now and then (a race in recovery) shows here. Uses
DATABASE_URL and REDIS_URL like the suite; the services it stops are private ones.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=10)
    args, pytest_args = parser.parse_known_args()
    env = {**os.environ, "FAULT_RESTARTS": str(args.restarts)}
    command = [sys.executable, "-m", "pytest", "-m", "faults", "-p", "no:cacheprovider", "-q"]
    failed = []
    for round_number in range(1, args.rounds + 1):
        started = time.monotonic()
        result = subprocess.run([*command, *pytest_args], cwd=ROOT, env=env, check=False)
        print(f"round {round_number}: exit {result.returncode}, {time.monotonic() - started:.0f} s")
        if result.returncode != 0:
            failed.append(round_number)
    print(f"{args.rounds - len(failed)} of {args.rounds} rounds passed; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
