"""Request ids on responses and log lines; JSON log lines; secrets never reach a log."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from observability.celery_signals import add_request_id_header
from observability.logs import REDACTED, JsonFormatter, RedactSecretsFilter, RequestIdFilter
from observability.request_id import get_request_id, reset_request_id, set_request_id
from observability.task_metrics import task_outcome_counts
from observability.tasks import ping

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log():
    """The records of the `shop.test` and `security` loggers, as the production handler writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("shop.test", "security", "observability")]
    for logger in loggers:
        logger.addHandler(handler)
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    for logger, level in zip(loggers, previous, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


# --- Request ids --------------------------------------------------------------------------------


def test_a_request_without_an_id_gets_a_new_one(client):
    first, second = client.get("/healthz"), client.get("/healthz")

    assert len(first["X-Request-ID"]) == 32
    int(first["X-Request-ID"], 16)
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_safe_request_id_from_the_client_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c:2026.11.28_01")

    assert response["X-Request-ID"] == "lb-7f3a9c:2026.11.28_01"


@pytest.mark.parametrize(
    "unsafe",
    ["two words", 'quote"d', "a" * 65, "", "-leading-dash", "x\x1b[31m", "ünïcode"],
)
def test_an_unsafe_request_id_is_replaced(client, unsafe):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=unsafe)

    assert response["X-Request-ID"] != unsafe
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_errors_carry_the_request_id_too(client):
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="trace-404")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-404"


@pytest.mark.django_db
def test_django_request_error_lines_carry_the_request_id(api_client, json_log):
    logger = logging.getLogger("django.request")
    logger.addHandler(logging.getLogger("shop.test").handlers[-1])
    try:
        api_client.post(
            "/api/auth/token/", {"email": "x"}, format="json", HTTP_X_REQUEST_ID="req-400"
        )
    finally:
        logger.removeHandler(logging.getLogger("shop.test").handlers[-1])

    [line] = [line for line in json_log() if line["logger"] == "django.request"]
    assert line["message"] == "Bad Request: /api/auth/token/"
    assert line["request_id"] == "req-400"


def test_the_request_id_does_not_outlive_its_request(client):
    client.get("/healthz", HTTP_X_REQUEST_ID="finished-request")

    assert get_request_id() is None


@pytest.mark.django_db
def test_log_lines_written_during_a_request_carry_its_id(client, customer, json_log):
    response = client.post(
        "/admin/login/",
        {"username": customer.email, "password": "wrong-password"},
        HTTP_X_REQUEST_ID="req-admin-1",
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 200  # the login form again
    [line] = [line for line in json_log() if line["message"] == "login failed"]
    assert line["request_id"] == "req-admin-1"
    assert line["level"] == "WARNING"
    assert line["logger"] == "security.login"
    assert line["client_ip"] == "203.0.113.9"
    assert line["path"] == "/admin/login/"
    assert len(line["email_hash"]) == 16
    text = json.dumps(json_log())
    assert "wrong-password" not in text
    assert customer.email not in text


# --- Celery -------------------------------------------------------------------------------------


def test_a_queued_task_carries_the_request_id_in_its_headers():
    token = set_request_id("req-queue-1")
    try:
        headers: dict = {}
        add_request_id_header(headers=headers)
    finally:
        reset_request_id(token)

    assert headers == {"request_id": "req-queue-1"}


def test_a_task_run_inline_logs_with_the_request_id_and_its_own_task_id(json_log):
    token = set_request_id("req-inline-1")
    try:
        result = ping.apply_async(task_id="task-inline-1")
    finally:
        reset_request_id(token)

    assert result.successful()
    assert result.result == "pong"
    [line] = [line for line in json_log() if line["message"] == "ping received"]
    assert line["request_id"] == "req-inline-1"
    assert line["task_id"] == "task-inline-1"
    assert line["task_name"] == "observability.ping"
    assert get_request_id() is None


@pytest.mark.slow
def test_a_worker_logs_with_the_id_of_the_request_that_queued_the_task(tmp_path, rf):
    """A real worker on real Redis, with the production logging configuration."""
    from celery import current_app

    from observability.middleware import RequestIdMiddleware

    queue = f"observability-test-{os.getpid()}"
    log_file = tmp_path / "worker.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "worker-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop"),
        "REDIS_URL": current_app.conf.broker_url,
        "LOG_FORMAT": "json",
        "CACHE_KEY_PREFIX": _test_cache_prefix(),
    }
    successes_before = task_outcome_counts().get(("observability.ping", "success"), 0)
    with log_file.open("w") as log:
        worker = subprocess.Popen(  # noqa: S603 - fixed argv, our own Celery app
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
             "--pool", "solo", "--queues", queue,
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        current_app.conf.task_always_eager = False

        def view(request):
            ping.apply_async(queue=queue, task_id=f"{queue}-task")
            from django.http import HttpResponse

            return HttpResponse("queued")

        response = RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="req-worker-1"))
        assert response["X-Request-ID"] == "req-worker-1"

        line = _wait_for_log_line(log_file, "ping received", worker)
        successes = _wait_for_count(("observability.ping", "success"), successes_before + 1)
    finally:
        current_app.conf.task_always_eager = True
        worker.terminate()
        worker.wait(timeout=30)

    assert line["request_id"] == "req-worker-1"
    assert line["task_id"] == f"{queue}-task"
    assert line["task_name"] == "observability.ping"
    assert line["logger"] == "observability.tasks"
    # the worker's outcome reaches this process' /metrics through Redis
    assert successes == successes_before + 1


def _test_cache_prefix() -> str:
    from django.conf import settings

    return settings.CACHES["default"]["KEY_PREFIX"]


def _wait_for_count(key: tuple[str, str], expected: int) -> int:
    import time

    deadline = time.monotonic() + 30
    count = task_outcome_counts().get(key, 0)
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.1)  # polling Redis with a deadline
        count = task_outcome_counts().get(key, 0)
    return count


def _wait_for_log_line(path: Path, message: str, process: subprocess.Popen) -> dict:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for raw in path.read_text().splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("message") == message:
                return entry
        if process.poll() is not None:
            break
        time.sleep(0.2)  # polling a file with a deadline, not waiting for an outcome
    pytest.fail(f"no {message!r} line from the worker; its output:\n{path.read_text()}")


# --- Formatting and redaction -----------------------------------------------------------------


def test_json_lines_hold_time_level_logger_message_and_extras(json_log):
    logging.getLogger("shop.test").info(
        "order %s paid", "ORD-000123", extra={"order_id": 123, "amount": "45500.00"}
    )

    [line] = json_log()
    assert set(line) == {"time", "level", "logger", "message", "request_id", "order_id", "amount"}
    assert line["message"] == "order ORD-000123 paid"
    assert line["level"] == "INFO"
    assert line["logger"] == "shop.test"
    assert line["request_id"] == "-"
    assert line["order_id"] == 123
    assert line["time"].endswith("+00:00")


def test_secrets_in_messages_and_extras_are_redacted(json_log):
    logger = logging.getLogger("shop.test")
    logger.warning("calling gateway with Authorization: Bearer sk_live_abc123 now")
    logger.warning("login form password=hunter2&email_hash=ab12")
    logger.warning("payload %s", {"token": "tok_1", "amount": 500})
    logger.warning(
        "webhook received",
        extra={
            "headers": {"X-Paystack-Signature": "deadbeef", "Content-Type": "application/json"},
            "api_key": "sk_test_123",
            "verif-hash": "flw-secret",
        },
    )

    lines = json_log()
    assert lines[0]["message"] == f"calling gateway with Authorization: {REDACTED} now"
    assert lines[1]["message"] == f"login form password={REDACTED}&email_hash=ab12"
    assert lines[2]["message"] == f"payload {{'token': '{REDACTED}', 'amount': 500}}"
    assert lines[3]["headers"] == {
        "X-Paystack-Signature": REDACTED,
        "Content-Type": "application/json",
    }
    assert lines[3]["api_key"] == REDACTED
    text = json.dumps(lines)
    for secret in ("sk_live_abc123", "hunter2", "tok_1", "deadbeef", "sk_test_123", "flw-secret"):
        assert secret not in text


def test_objects_logged_as_extras_are_shown_as_redacted_text(json_log, rf):
    request = rf.get("/api/orders/?token=tok_secret_1&page=2")
    logging.getLogger("shop.test").warning("Bad Request", extra={"request": request})

    [line] = json_log()
    assert line["request"] == f"<WSGIRequest: GET '/api/orders/?token={REDACTED}&page=2'>"


def test_odd_extras_never_break_the_log_call(json_log):
    from collections import namedtuple

    class Unprintable:
        def __str__(self):
            raise RuntimeError("cannot render")

    Pair = namedtuple("Pair", "name token")
    logging.getLogger("shop.test").warning(
        "odd", extra={"pair": Pair("a", "password=x"), "mapping": {"broken": Unprintable()}}
    )

    [line] = json_log()
    assert line["pair"] == ["a", f"password={REDACTED}"]
    assert line["mapping"] == {"broken": "<unprintable Unprintable>"}
    assert line["message"] == "odd"


def test_secrets_in_exception_text_are_redacted(json_log):
    try:
        raise ValueError("gateway refused secret_key=sk_live_999")
    except ValueError:
        logging.getLogger("shop.test").exception("gateway call failed")

    [line] = json_log()
    assert "sk_live_999" not in line["exception"]
    assert f"secret_key={REDACTED}" in line["exception"]


@pytest.mark.timeout(10)  # a hang guard, not a speed measure: this takes milliseconds
def test_a_log_line_with_very_long_words_is_written_whole_and_still_redacted(json_log):
    # A gateway body or a base64 blob is one long word. The redaction once took quadratic
    # time in it (a minute and a half for this line), stalling the request that logged it.
    blob = "A" * 20_000
    logging.getLogger("shop.test").warning("body %s access_token=%s then", blob, "tok" + blob)

    [line] = json_log()
    assert line["message"] == f"body {blob} access_token={REDACTED} then"


def _log_from_a_real_process(**env: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import logging; logging.getLogger('shop.demo').warning('hello token=abc123')",
        ],
        cwd=PROJECT_DIR,
        env={"PATH": os.environ.get("PATH", ""), "ENV_FILE": "",
             "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )  # fmt: skip
    return result.stderr.strip()


def test_production_logs_are_json_lines_by_default():
    [line] = _log_from_a_real_process().splitlines()

    entry = json.loads(line)
    assert entry["message"] == f"hello token={REDACTED}"
    assert entry["logger"] == "shop.demo"
    assert entry["request_id"] == "-"


def test_plain_logs_can_be_chosen_and_still_carry_the_request_id_slot():
    [line] = _log_from_a_real_process(LOG_FORMAT="plain").splitlines()

    assert line.endswith(f"WARNING shop.demo [-] hello token={REDACTED}")
