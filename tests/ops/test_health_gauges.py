"""The seed's health figures on /metrics, computed from the database at scrape time."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from orders.models import Order
from payments.models import PaymentStatus
from tests.factories import ProductFactory, UserFactory
from tests.observability.test_metrics import METRICS_TOKEN, scrape, value
from tests.ops import health_builders as build
from tests.orders.helpers import place

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_metrics_token")]


@pytest.fixture
def _metrics_token():
    with override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[]):
        yield


def test_payment_success_ratio_per_window(client):
    build.settled(succeeded=9, failed=1, minutes_ago=10)  # in both windows
    build.settled(succeeded=0, failed=10, minutes_ago=5 * 60)  # 24 h only
    build.payments(PaymentStatus.PENDING, 4)  # not settled: not counted
    build.settled(succeeded=5, failed=5, minutes_ago=25 * 60)  # outside both

    scraped = scrape(client)

    assert value(scraped, "shop_payment_success_ratio", window="1h") == 0.9
    assert value(scraped, "shop_payment_success_ratio", window="24h") == 0.45
    assert value(scraped, "shop_payments_settled", window="1h") == 10
    assert value(scraped, "shop_payments_settled", window="24h") == 20
    assert value(scraped, "metrics_gauge_source_up", source="health") == 1


def test_no_ratio_is_reported_for_a_window_without_settled_payments(client):
    build.payments(PaymentStatus.PENDING, 2)

    scraped = scrape(client)

    assert ("shop_payment_success_ratio", frozenset({("window", "1h")})) not in scraped
    assert ("shop_webhook_failure_ratio", frozenset({("window", "1h")})) not in scraped
    assert value(scraped, "shop_payments_settled", window="1h") == 0


def test_pending_payment_orders_of_the_last_hour(client):
    product = ProductFactory(stock=10)
    place(UserFactory(), [(product, 1)])
    place(UserFactory(), [(product, 1)])
    old = place(UserFactory(), [(product, 1)]).order
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))

    assert value(scrape(client), "shop_orders_pending_payment_recent") == 2


def test_webhook_failures(client):
    build.webhook_events(19, failing=False, minutes_ago=10)
    build.webhook_events(1, failing=True, minutes_ago=10)
    build.webhook_events(3, failing=True, minutes_ago=3 * 60)  # old, still failing

    scraped = scrape(client)

    assert value(scraped, "shop_webhook_failure_ratio", window="1h") == 0.05
    assert value(scraped, "shop_webhook_events_received_recent") == 20
    assert value(scraped, "shop_webhook_events_failing") == 4
