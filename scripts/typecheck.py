"""mypy over the project (settings in pyproject.toml), judged against mypy-baseline.txt.

- An error that is not in the baseline fails (exit 1): new code passes strict mypy.
- An error in the baseline that no longer occurs fails too: the fix must also remove it from
  the baseline (`python scripts/typecheck.py --sync`), so the baseline only shrinks.
- mypy itself failing (a crash, a bad configuration: exit 2) fails, whatever it printed.

`--sync` rewrites the baseline from the current errors. Use it after fixing old errors; adding
new ones to the baseline defeats its purpose and shows in review as added lines.

Usage: python scripts/typecheck.py [--sync]
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"


def run_mypy() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"mypy failed to run (exit {result.returncode})")
    return result.stdout


def judge(mypy_output: str, *, sync: bool) -> int:
    command = [sys.executable, "-m", "mypy_baseline", "sync" if sync else "filter"]
    command += ["--baseline-path", str(BASELINE), "--no-colors", "--sort-baseline"]
    result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter's mypy-baseline
        command, cwd=ROOT, input=mypy_output, capture_output=True, text=True, check=False
    )
    baselined = len(BASELINE.read_text().splitlines()) if BASELINE.exists() else 0
    if result.returncode == 0:
        sys.stdout.write(f"mypy: no new errors ({baselined} old ones left in {BASELINE.name})\n")
        return 0
    sys.stdout.write(result.stdout + result.stderr)
    sys.stdout.write(
        f"mypy: new errors above fail; errors fixed must also leave {BASELINE.name}: "
        "run `python scripts/typecheck.py --sync` and commit the shorter baseline.\n"
    )
    return result.returncode


def main(argv: list[str]) -> int:
    return judge(run_mypy(), sync="--sync" in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
