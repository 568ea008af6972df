"""GET /api/cron/cleanup/: closed by default, bearer token compared in constant time."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inventory.models import InventoryLock
from orders.models import Order
from tests.ops import builders

pytestmark = pytest.mark.django_db

URL = "/api/cron/cleanup/"
SECRET = "cron-secret-0123456789abcdef"


@pytest.fixture
def stale_data():
    builders.expired_locks(3)
    [order] = builders.overdue_orders(1)
    builders.idempotency_keys(2, hours_ago=25)
    return order


def snapshot():
    return (
        InventoryLock.objects.count(),
        list(Order.objects.values_list("state", flat=True)),
    )


def test_without_cron_secret_the_endpoint_is_closed_even_with_a_token(settings, stale_data):
    settings.CRON_SECRET = ""
    before = snapshot()

    response = Client().get(URL, HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "cron_not_configured"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Token " + SECRET, "not_authenticated"),
        ("Bearer wrong-secret", "invalid_token"),
        ("Bearer " + SECRET[:-1], "invalid_token"),
        ("Bearer " + SECRET + "x", "invalid_token"),
    ],
)
def test_a_missing_or_wrong_token_is_refused_and_changes_nothing(
    settings, stale_data, header, code
):
    settings.CRON_SECRET = SECRET
    before = snapshot()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = Client().get(URL, **extra)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response["WWW-Authenticate"] == 'Bearer realm="cron"'
    assert snapshot() == before


def test_the_right_token_runs_the_cleanup_and_answers_its_counts(settings, stale_data):
    settings.CRON_SECRET = SECRET

    response = Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {SECRET}")

    assert response.status_code == 200
    assert response.json() == {
        "cleanup": {
            "expired_locks_deleted": 3,
            "expired_orders_cancelled": 1,
            "idempotency_keys_purged": 2,
            "dry_run": False,
        }
    }
    stale_data.refresh_from_db()
    assert stale_data.state == "cancelled"
    assert InventoryLock.objects.count() == 0
    again = Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert again.json()["cleanup"] == {
        "expired_locks_deleted": 0,
        "expired_orders_cancelled": 0,
        "idempotency_keys_purged": 0,
        "dry_run": False,
    }


def test_only_get_is_served(settings):
    settings.CRON_SECRET = SECRET
    response = Client().post(URL, HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    assert response.status_code == 405


def test_expired_locks_count_only_when_past_their_expiry(settings):
    settings.CRON_SECRET = SECRET
    builders.expired_locks(2)
    live_product = builders.ProductFactory(stock=5)
    InventoryLock.objects.create(
        product=live_product, owner="LIVE", quantity=1, expires_at=timezone.now() + timedelta(1)
    )

    response = Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {SECRET}")

    assert response.json()["cleanup"]["expired_locks_deleted"] == 2
    assert list(InventoryLock.objects.values_list("owner", flat=True)) == ["LIVE"]
