"""The docker-compose topology in processes: what the worker counts reaches the web's /metrics.

A gunicorn web server and a plain ``celery -A config worker`` run with production settings,
each with an environment of its own (as containers have): their own metrics folders
(``PROMETHEUS_MULTIPROC_DIR``), one database, one Redis (a private redis-server, so the
production queue names are used unchanged). A paid webhook goes to the web server, the worker
processes it, and the web server's scrape shows the worker's counts.
"""

import fnmatch
import importlib

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from orders.models import Order
from payments.models import Payment
from tests.payments.helpers import place_order, wait_for
from tests.servers import AppServer, CeleryWorker, PrivateRedis, app_environment, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

Scrape = dict[tuple[str, frozenset[tuple[str, str]]], float]
METRICS_TOKEN = "worker-metrics-test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def topology(django_db_setup, redis_server, fake_paystack, tmp_path):
    from django.db import connection

    shared = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_server.url,
        "PAYSTACK_BASE_URL": fake_paystack.base_url,
        "PAYSTACK_SECRET_KEY": fake_paystack.secret_key,
        "PAYMENT_HTTP_READ_TIMEOUT": "5",
    }
    web = AppServer(
        app_environment(
            **shared,
            METRICS_TOKEN=METRICS_TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "web-metrics"),
        ),
        name="metrics-web",
    )
    worker = CeleryWorker(
        app_environment(**shared, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker-metrics")),
        concurrency=2,
    )
    try:
        web.start()
        worker.start()
        fake_paystack.webhook_target = web.url("/api/webhooks/paystack/")
        yield web, worker
    finally:
        worker.stop()
        web.stop()


def scrape(web: AppServer) -> Scrape:
    response = requests.get(
        web.url("/metrics"), headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(scraped: Scrape, name: str, **labels: str) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


def test_a_plain_worker_consumes_every_queue_the_app_routes_to(topology):
    _web, worker = topology
    production = importlib.import_module("config.settings")
    routes = production.CELERY_TASK_ROUTES

    def queue_of(task: str) -> str:
        for pattern, route in routes.items():
            if fnmatch.fnmatchcase(task, pattern):
                return str(route["queue"])
        return str(production.CELERY_TASK_DEFAULT_QUEUE)

    celery_app.loader.import_default_modules()  # every app's tasks module, as a worker does
    own_tasks = [name for name in celery_app.tasks if not name.startswith("celery.")]
    needed = {queue_of(task) for task in own_tasks}

    assert needed == {"celery", "money"}  # payments.* tasks go to their own queue
    assert worker.consumed_queues() == needed


def test_worker_counts_show_on_the_web_scrape(topology, customer, customer_client, fake_paystack):
    web, worker = topology
    response, _product = place_order(customer_client, customer, method="paystack")
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    payment = Payment.objects.get(order_id=order_id)

    fake_paystack.pay(payment.reference)  # a signed webhook to the web server

    wait_for(
        lambda: Order.objects.get(pk=order_id).state == "paid",
        timeout=30,
        what=f"the worker to apply the webhook:\n{worker.log()}",
    )
    charge = {"gateway": "paystack", "type": "charge.success"}
    scraped = wait_for(
        lambda: (
            (s := scrape(web))
            and sample(s, "webhook_events_total", **charge, result="processed")
            # the web process that took the webhook sends its count within FLUSH_SECONDS
            and sample(s, "webhook_events_total", **charge, result="received")
            and s
        ),
        timeout=15,
        what="the worker's counts on the web's scrape",
    )
    assert sample(scraped, "webhook_events_total", **charge, result="received") == 1
    assert sample(scraped, "webhook_events_total", **charge, result="processed") == 1
    assert sample(scraped, "payments_total", gateway="paystack", outcome="paid") == 1
    assert sample(scraped, "webhook_processing_lag_seconds_count", gateway="paystack") == 1
    assert (
        sample(scraped, "webhook_processing_lag_seconds_bucket", gateway="paystack", le="+Inf") == 1
    )
    task = "payments.tasks.process_webhook_event"
    assert sample(scraped, "celery_task_total", task=task, outcome="success") == 1
