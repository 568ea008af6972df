"""The `make test` audit step decides on pip-audit's JSON report as documented."""

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "audit_dependencies.py"
_spec = importlib.util.spec_from_file_location("audit_dependencies", _PATH)
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
LOCAL = {"name": "shop-backend", "skip_reason": "Dependency not found on PyPI"}


def report(*dependencies: dict) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_a_clean_audit_passes_and_says_what_it_audited():
    code, message = audit.verdict(0, report(CLEAN, LOCAL), "", required=True)

    assert code == 0
    assert message == (
        "pip-audit: 1 packages audited, no known vulnerabilities "
        "(1 skipped: not on PyPI, e.g. this project)"
    )


@pytest.mark.parametrize("required", [False, True])
def test_a_known_vulnerability_fails(required):
    vulnerable = {
        "name": "requests",
        "version": "2.31.0",
        "vulns": [{"id": "GHSA-9wx4-h78v-vm56", "fix_versions": ["2.32.0"], "aliases": []}],
    }

    code, message = audit.verdict(1, report(CLEAN, vulnerable), "", required=required)

    assert code == 1
    assert message == (
        "pip-audit: known vulnerabilities found:\n"
        "  requests 2.31.0: GHSA-9wx4-h78v-vm56 (fixed in 2.32.0)"
    )


def test_an_index_without_the_vulnerability_api_warns_but_passes():
    code, message = audit.verdict(0, report({**CLEAN, "skip_reason": "not found"}, LOCAL), "",
                                  required=False)  # fmt: skip

    assert code == 0
    assert message.startswith("WARNING: pip-audit could not audit anything: all 2 packages")
    assert "NOT checked" in message


def test_an_unreachable_service_fails_when_the_audit_is_required():
    stderr = "requests.exceptions.ConnectionError: Max retries exceeded with url: /v1/query"

    assert audit.verdict(1, "", stderr, required=False)[0] == 0
    assert audit.verdict(1, "", stderr, required=True)[0] == 2


def test_any_other_pip_audit_failure_fails():
    code, message = audit.verdict(2, "", "error: unrecognized arguments: --bogus", required=False)

    assert code == 1
    assert "unrecognized arguments" in message


def test_the_ignore_file_lists_ids_with_their_reasons(tmp_path):
    ignore = tmp_path / "ignore"
    ignore.write_text(
        "# header comment\n\nPYSEC-2024-1  # dev-only tool, not deployed\nGHSA-xxxx-yyyy-zzzz\n"
    )

    assert audit.ignored_advisories(ignore) == ["PYSEC-2024-1", "GHSA-xxxx-yyyy-zzzz"]
    assert audit.ignored_advisories(tmp_path / "missing") == []
    assert audit.ignored_advisories() == []  # the project ignores nothing today
