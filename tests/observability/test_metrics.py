"""/metrics: who may read it, and what it shows after real requests and tasks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.signals import task_retry
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from observability.metrics import register_gauge_source, unregister_gauge_source
from observability.tasks import ping
from tests.factories import NotificationFactory

PROJECT_DIR = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-token-0123456789abcdefghijklmnop"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


def value(scraped, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


# --- Protection -------------------------------------------------------------------------------


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_IPS=[])
def test_metrics_are_absent_until_access_is_configured(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer "],
)
def test_a_missing_or_wrong_token_is_refused(client, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert b"http_requests_total" not in response.content


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[])
@pytest.mark.django_db
def test_the_right_token_reads_the_metrics(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 200
    assert b"# TYPE http_requests_total counter" in response.content


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[])
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text"),
        ("application/openmetrics-text; version=1.x", "text/plain"),
        ("application/openmetrics-text; version=abc", "text/plain"),
    ],
)
def test_the_exposition_format_follows_accept_and_an_odd_version_gets_plain_text(
    client, accept, content_type
):
    response = client.get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}", HTTP_ACCEPT=accept
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert b"# TYPE http_requests" in response.content


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_IPS=["10.20.0.0/16", "192.0.2.7"])
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "status"),
    [("10.20.3.4", 200), ("192.0.2.7", 200), ("10.21.0.1", 404), ("192.0.2.8", 404)],
)
def test_the_address_allow_list_admits_listed_addresses_only(client, address, status):
    assert client.get("/metrics", REMOTE_ADDR=address).status_code == status


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_IPS=["10.20.0.0/16"])
def test_a_forged_forwarded_for_header_is_ignored_without_proxies(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.20.0.1")

    assert response.status_code == 404


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_checked(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.20.0.0/16"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    inside = client.get("/metrics", REMOTE_ADDR="172.16.0.2", HTTP_X_FORWARDED_FOR="10.20.0.1")
    outside = client.get(
        "/metrics", REMOTE_ADDR="10.20.0.9", HTTP_X_FORWARDED_FOR="10.20.0.1, 203.0.113.5"
    )

    assert inside.status_code == 200
    assert outside.status_code == 404


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_answer_get_only(client):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 405


# --- Content ----------------------------------------------------------------------------------


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.django_db
def test_requests_are_counted_by_route_pattern_method_and_status(client, product):
    before = scrape(client)

    client.get(f"/api/products/{product.pk}/")
    client.get(f"/api/products/{product.pk}/")
    client.get(f"/api/products/{product.pk + 1000}/")
    client.get("/definitely/not/a/route/123")
    client.delete("/healthz")

    after = scrape(client)
    detail = {"route": "api/products/<int:pk>/", "method": "GET"}
    for labels, expected in [
        ({**detail, "status": "200"}, 2),
        ({**detail, "status": "404"}, 1),
        ({"route": "<unmatched>", "method": "GET", "status": "404"}, 1),
        ({"route": "healthz", "method": "DELETE", "status": "405"}, 1),
    ]:
        counted = value(after, "http_requests_total", **labels) - value(
            before, "http_requests_total", **labels
        )
        assert counted == expected, labels
        timed = value(after, "http_request_duration_seconds_count", **labels) - value(
            before, "http_request_duration_seconds_count", **labels
        )
        assert timed == expected, labels
    # raw paths never become label values, and no `_created` series doubles the count
    assert not any(f"/{product.pk}/" in str(key) for key in after)
    assert not any(name.endswith("_created") for name, _ in after)


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.django_db
def test_the_domain_metrics_are_declared_for_the_integrator(client):
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()

    for line in [
        "# TYPE checkouts_total counter",
        "# TYPE payments_total counter",
        "# TYPE webhook_events_total counter",
        "# TYPE webhook_processing_lag_seconds histogram",
        "# TYPE celery_task_total counter",
        "# TYPE rate_limit_decisions_total counter",
        "# TYPE login_failures_total counter",
    ]:
        assert line in text


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.django_db
def test_notification_queue_depth_is_read_from_the_outbox_at_scrape_time(client):
    NotificationFactory.create_batch(3, status="queued")
    NotificationFactory(status="failed", attempts=1)
    NotificationFactory(status="dead", attempts=6, max_attempts=6)
    from datetime import UTC, datetime

    NotificationFactory(status="sent", attempts=1, sent_at=datetime.now(tz=UTC))

    scraped = scrape(client)

    assert value(scraped, "notification_queue_depth", status="queued") == 3
    assert value(scraped, "notification_queue_depth", status="sending") == 0
    assert value(scraped, "notification_queue_depth", status="failed") == 1
    assert value(scraped, "notification_queue_depth", status="dead") == 1
    assert ("notification_queue_depth", frozenset({("status", "sent")})) not in scraped
    assert value(scraped, "metrics_gauge_source_up", source="notifications") == 1


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.django_db
def test_apps_add_scrape_time_gauges_and_a_failing_one_hides_nothing_else(client):
    from prometheus_client.core import GaugeMetricFamily

    def locks():
        family = GaugeMetricFamily("inventory_locks", "Stock locks.", labels=["state"])
        family.add_metric(["active"], 4)
        family.add_metric(["expired"], 1)
        yield family

    def broken():
        raise RuntimeError("database went away")

    register_gauge_source(locks, name="test-locks")
    register_gauge_source(broken, name="test-broken")
    try:
        scraped = scrape(client)
    finally:
        unregister_gauge_source("test-locks")
        unregister_gauge_source("test-broken")

    assert value(scraped, "inventory_locks", state="active") == 4
    assert value(scraped, "inventory_locks", state="expired") == 1
    assert value(scraped, "metrics_gauge_source_up", source="test-locks") == 1
    assert value(scraped, "metrics_gauge_source_up", source="test-broken") == 0
    assert value(scraped, "metrics_gauge_source_up", source="notifications") == 1


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.django_db
def test_celery_task_outcomes_are_counted(client):
    from celery import current_app

    @current_app.task(name="tests.observability.always_fails", bind=True)
    def always_fails(self):
        raise ValueError("boom")

    @current_app.task(name="tests.observability.asks_for_retry", bind=True)
    def asks_for_retry(self):
        raise self.retry(countdown=60)

    before = scrape(client)
    ping.delay()
    ping.delay()
    # as a worker runs it: the error is recorded, not raised to the caller
    assert always_fails.apply(throw=False).state == "FAILURE"
    # Inline (eager) runs re-run a retrying task recursively; a worker sends this signal once.
    task_retry.send(sender=asks_for_retry, request=None, reason="gateway timed out", einfo=None)
    after = scrape(client)

    def delta(task: str, outcome: str) -> float:
        return value(after, "celery_task_total", task=task, outcome=outcome) - value(
            before, "celery_task_total", task=task, outcome=outcome
        )

    assert delta("observability.ping", "success") == 2
    assert delta("tests.observability.always_fails", "failure") == 1
    assert delta("tests.observability.asks_for_retry", "retry") == 1
    assert delta("tests.observability.asks_for_retry", "failure") == 0


@override_settings(METRICS_TOKEN=METRICS_TOKEN, THROTTLE_LOGIN_RATE="1/min")
@pytest.mark.django_db
def test_throttle_decisions_are_counted(client, customer, ratelimit_clock):
    before = scrape(client)
    for _ in range(3):
        client.post(
            "/api/auth/token/",
            {"email": customer.email, "password": "x"},
            content_type="application/json",
            REMOTE_ADDR="198.51.100.77",
        )
    after = scrape(client)

    def delta(result: str) -> float:
        return value(after, "rate_limit_decisions_total", scope="login", result=result) - value(
            before, "rate_limit_decisions_total", scope="login", result=result
        )

    assert (delta("allowed"), delta("throttled")) == (1, 2)


def test_counters_of_several_processes_add_up_in_multiprocess_mode(tmp_path):
    """What gunicorn workers do: each writes its own files; any one of them serves the sum."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 50,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "created-on-start"),
    }

    def run(code: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed argv, our own code
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return result.stdout

    run("from observability import metrics; metrics.CHECKOUTS.labels('placed').inc(2)")
    run("from observability import metrics; metrics.CHECKOUTS.labels('placed').inc(3)")
    run("from observability import metrics; metrics.CHECKOUTS.labels('out_of_stock').inc()")
    text = run(
        "import sys; from observability.metrics import render_metrics; "
        "from observability import gauges; "
        "from observability.metrics import unregister_gauge_source; "
        "unregister_gauge_source('notifications'); "
        "sys.stdout.write(render_metrics('text/plain')[0].decode())"
    )

    scraped = samples(text)
    assert value(scraped, "checkouts_total", outcome="placed") == 5
    assert value(scraped, "checkouts_total", outcome="out_of_stock") == 1
    # one file per process that counted
    assert len(list((tmp_path / "created-on-start").iterdir())) >= 3


def test_a_task_still_runs_when_its_outcome_cannot_be_counted(caplog):
    from tests.security.test_ratelimit import DOWN_REDIS

    with override_settings(CACHES=DOWN_REDIS), caplog.at_level("WARNING"):
        result = ping.delay()  # run inline (eager): read the value, no join needed
    assert result.successful()
    assert result.result == "pong"

    assert "task outcome not counted: Redis unavailable" in caplog.messages
