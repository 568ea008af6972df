"""Audit the installed environment with pip-audit; the `make test` step.

- A known vulnerability (not listed in `.pip-audit-ignore`) fails the run (exit 1).
- When the vulnerability service cannot be reached (no network, or an index mirror without
  PyPI's JSON API, where every package comes back "not found on PyPI") nothing was audited:
  a clear warning is printed and the run passes, unless PIP_AUDIT_REQUIRED=1 (then exit 2).
  Offline runs stay usable; CI with network should set PIP_AUDIT_REQUIRED=1.

Usage: python scripts/audit_dependencies.py  (extra arguments go to pip-audit)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

IGNORE_FILE = Path(__file__).resolve().parent.parent / ".pip-audit-ignore"
_UNREACHABLE_MARKERS = (
    "ConnectionError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Failed to resolve",
    "Name or service not known",
    "Temporary failure in name resolution",
    "timed out",
    "ServiceError",
)


def ignored_advisories(path: Path = IGNORE_FILE) -> list[str]:
    """Advisory ids from the ignore file: one per line, `# why` comments allowed."""
    if not path.exists():
        return []
    ids = []
    for line in path.read_text().splitlines():
        advisory = line.split("#", 1)[0].strip()
        if advisory:
            ids.append(advisory)
    return ids


def verdict(returncode: int, stdout: str, stderr: str, *, required: bool) -> tuple[int, str]:
    """(exit code, message) for one pip-audit run with `--format json`."""
    try:
        report = json.loads(stdout)
    except ValueError:
        if any(marker in stderr for marker in _UNREACHABLE_MARKERS):
            return _unreachable("the vulnerability service could not be reached", required)
        return 1, f"pip-audit failed (exit {returncode}):\n{stderr.strip()}"

    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    if vulnerable:
        lines = [
            f"  {dep['name']} {dep['version']}: {vuln['id']}"
            + (f" (fixed in {', '.join(vuln['fix_versions'])})" if vuln.get("fix_versions") else "")
            for dep in vulnerable
            for vuln in dep["vulns"]
        ]
        return 1, "pip-audit: known vulnerabilities found:\n" + "\n".join(lines)
    audited = [dep for dep in dependencies if "skip_reason" not in dep]
    skipped = len(dependencies) - len(audited)
    if dependencies and not audited:
        return _unreachable(
            f"all {len(dependencies)} packages were skipped (the index answers no "
            "vulnerability queries)",
            required,
        )
    return 0, (
        f"pip-audit: {len(audited)} packages audited, no known vulnerabilities"
        + (f" ({skipped} skipped: not on PyPI, e.g. this project)" if skipped else "")
    )


def _unreachable(reason: str, required: bool) -> tuple[int, str]:
    message = (
        f"WARNING: pip-audit could not audit anything: {reason}. Dependencies are NOT "
        "checked for known vulnerabilities in this run."
    )
    if required:
        return 2, message + " PIP_AUDIT_REQUIRED=1, so this fails."
    return 0, message + " Set PIP_AUDIT_REQUIRED=1 where the network allows it to make this fail."


def main(argv: list[str]) -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "20",
        *(arg for advisory in ignored_advisories() for arg in ("--ignore-vuln", advisory)),
        *argv,
    ]
    result = subprocess.run(  # noqa: S603 - fixed argv: pip-audit of this interpreter
        command, capture_output=True, text=True, timeout=900, check=False
    )
    required = os.environ.get("PIP_AUDIT_REQUIRED", "") in {"1", "true", "yes"}
    code, message = verdict(result.returncode, result.stdout, result.stderr, required=required)
    (sys.stderr if code else sys.stdout).write(message + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
