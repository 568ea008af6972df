"""The suite's fuzzing, long: schemathesis over every API operation and hypothesis over the
webhook parsers, with many more generated requests than `make test` sends.

    .venv/bin/python bench/fuzz_api.py [--examples 200]

Runs ``pytest -m fuzz`` (tests/fuzz) with FUZZ_EXAMPLES set: that many requests per
operation, token (customer, staff) and mode (valid, invalid) for the schema, and four times
as many per webhook property. Uses DATABASE_URL and REDIS_URL like the suite (the test
database is created and dropped). With 100 it took 3 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    args, pytest_args = parser.parse_known_args()
    env = {**os.environ, "FUZZ_EXAMPLES": str(args.examples)}
    command = [sys.executable, "-m", "pytest", "-m", "fuzz", "-p", "no:cacheprovider", "-q"]
    return subprocess.run([*command, *pytest_args], cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
