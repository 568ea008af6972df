"""docker-compose.yml, the Dockerfile and the Prometheus configuration, read as files.

No Docker engine runs where the suite runs, so these check what can be checked without one:
the compose file is valid against the Compose specification (compose_spec) and keeps its
promises (an optional .env reaches every app container,
every README setting can come from it, the worker consumes every routed queue, one beat), the
Dockerfile builds from the lock in two stages and runs unprivileged, and promtool accepts the
scrape configuration. Static files and worker metrics are tested in processes elsewhere
(tests/test_static_files.py, tests/observability/test_worker_metrics.py).
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import settings as production

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Set by the compose file for its own container layout (a tmpfs), not a deployment choice.
CONTAINER_INTERNAL = {"PROMETHEUS_MULTIPROC_DIR"}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def readme_settings() -> set[str]:
    """Every variable named in the first column of README's configuration table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_compose_parses_and_every_app_container_reads_an_optional_env_file():
    services = compose()["services"]
    assert set(APP_SERVICES) <= set(services)
    for name in APP_SERVICES:
        assert services[name]["env_file"] == [{"path": ".env", "required": False}], name


def test_every_readme_setting_can_come_from_env_without_editing_compose():
    documented = readme_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "DEFAULT_PAYMENT_GATEWAY", "STRIPE_API_VERSION"} <= (
        documented
    )
    for name in APP_SERVICES:
        environment = compose()["services"][name].get("environment", {})
        for variable, value in environment.items():
            if variable in CONTAINER_INTERNAL or variable not in documented:
                continue
            # `${VAR:-default}`: the shell or the .env's value wins over the compose default.
            assert re.fullmatch(rf"\$\{{{variable}(:-[^}}]*)?\}}", str(value)), (name, variable)
        # SECRET_KEY comes from .env only: `docker compose config` needs no .env to parse.
        assert "SECRET_KEY" not in environment


def test_every_interpolation_has_a_default_so_config_parses_without_env():
    text = (ROOT / "docker-compose.yml").read_text()
    for expression in re.findall(r"\$\{([^}]*)\}", text):
        assert ":-" in expression, expression


def command_queues(command: list[str]) -> set[str] | None:
    """The queues named with -Q/--queues, or None when the command names none."""
    for flag in ("-Q", "--queues"):
        if flag in command:
            return set(command[command.index(flag) + 1].split(","))
    return None


def test_the_compose_worker_consumes_every_declared_queue_and_one_beat_runs():
    services = compose()["services"]
    declared = {queue.name for queue in production.CELERY_TASK_QUEUES}
    routed = {route["queue"] for route in production.CELERY_TASK_ROUTES.values()}
    assert routed | {production.CELERY_TASK_DEFAULT_QUEUE} <= declared

    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    named = command_queues(worker)
    assert named is None or declared <= named

    beats = [name for name, s in services.items() if "beat" in s.get("command", [])]
    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    for name in ("web", "worker", "beat"):
        assert "test" in services[name]["healthcheck"], name


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split at each FROM."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_the_image_installs_the_lock_in_a_builder_stage_and_runs_unprivileged():
    builder, runtime = dockerfile_stages()
    builder_text, runtime_text = "\n".join(builder), "\n".join(runtime)

    assert "uv.lock" in builder_text
    assert "--require-hashes" in builder_text  # every wheel checked against the lock
    assert "--no-index" in runtime_text  # nothing fetched from an index at runtime
    assert "collectstatic" in runtime_text
    user = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert user
    assert user[-1] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK ") and "/healthz" in line for line in runtime)
    assert not any(re.search(r"apt-get install|build-essential|gcc", line) for line in runtime)


def test_dockerignore_keeps_tests_docs_and_tooling_out_of_the_image():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"tests", "docs", "bench", ".venv", ".git", ".env"} <= ignored
    assert "!scripts/bootstrap_uv.py" in ignored  # the builder needs it


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_promtool_accepts_the_scrape_configuration(tmp_path):
    # promtool reads the credentials file: point it at one of the test's own.
    source = ROOT / "deploy" / "prometheus"
    config = (source / "prometheus.yml").read_text()
    token_file = tmp_path / "token"
    token_file.write_text("test-token")
    config = config.replace("/etc/prometheus/shop-metrics-token", str(token_file))
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(source / "alerts.yml", tmp_path / "alerts.yml")

    result = subprocess.run(  # noqa: S603 - promtool from PATH, fixed arguments
        [str(PROMTOOL), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    job = yaml.safe_load(config)["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"


def test_pre_commit_runs_ruff_and_mypy_with_the_locked_tools():
    hooks = [
        hook
        for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
        for hook in repo["hooks"]
    ]
    entries = " ".join(hook["entry"] for hook in hooks)
    assert ".venv/bin/ruff check" in entries
    assert ".venv/bin/ruff format" in entries
    assert "scripts/typecheck.py" in entries
    pre_commit = Path(sys.executable).parent / "pre-commit"  # the locked one, beside python
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [str(pre_commit), "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_rule_links_a_runbook_section_of_the_deploy_guide():
    rules = [
        rule
        for group in yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]
    guide = (ROOT / "docs" / "deploy.md").read_text()
    runbooks = guide.split("## Runbooks", 1)[1]
    assert rules
    for rule in rules:
        name = rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/deploy.md#{name.lower()}"
        section = runbooks.split(f"\n### {name}\n", 1)
        assert len(section) == 2, f"docs/deploy.md has no runbook for {name}"
        assert "1. " in section[1].split("\n### ", 1)[0]  # steps, not just a heading


def test_compose_file_is_valid_against_the_compose_specification():
    """What `docker compose config` checks, without Docker: compose_spec (a typed parser of
    the Compose specification) after YAML anchors and merge keys are resolved as Compose
    resolves them. Interpolation is left to Compose (every `${...}` has a default)."""
    from compose_spec import PyCompose

    text = (ROOT / "docker-compose.yml").read_text()

    def parse(source: str) -> Any:
        return PyCompose.from_json(json.dumps(yaml.safe_load(source)))

    parsed = parse(text).to_dict()
    assert set(parsed["services"]) == {"postgres", "redis", *APP_SERVICES}
    assert parsed["services"]["worker"]["env_file"] == [{"path": ".env", "required": False}]
    with pytest.raises(ValueError, match="boolean"):  # the validator is really checking
        parse(text.replace("required: false", "required: maybe", 1))
