"""The staff dashboard in the admin: staff only, the health figures, a bounded query count."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order
from payments.models import PaymentStatus
from tests.conftest import admin_login
from tests.factories import (
    NotificationFactory,
    OrderFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
)
from tests.ops import health_builders as build
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


@pytest.fixture
def staff_client(client):
    admin_login(client, StaffFactory())
    return client


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/admin/dashboard/")


def test_a_customer_is_not_let_in(client):
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_index_links_to_the_dashboard(staff_client):
    response = staff_client.get("/admin/")

    assert response.status_code == 200
    assert f'href="{URL}"' in response.content.decode()


def _paid_today(total: str, currency: str = "NGN") -> Order:
    return OrderFactory(
        state="paid",
        payment_status="paid",
        total=Decimal(total),
        subtotal=Decimal(total),
        currency=currency,
        paid_at=timezone.now(),
    )


def test_the_dashboard_shows_each_figure(staff_client):
    _paid_today("5000.00")
    _paid_today("2500.50")
    _paid_today("40.00", currency="USD")
    yesterday = _paid_today("999.00")
    Order.objects.filter(pk=yesterday.pk).update(paid_at=timezone.now() - timedelta(days=2))
    build.settled(succeeded=3, failed=1)
    build.payments(PaymentStatus.PENDING)
    place(UserFactory(), [(ProductFactory(stock=10), 3)])  # pending payment, 3 units locked
    build.webhook_events(1, failing=True)
    build.webhook_events(3, failing=False)
    NotificationFactory(status="dead")

    response = staff_client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    figures = response.context
    assert figures["revenue_today"] == [
        {"currency": "NGN", "orders": 2, "total": Decimal("7500.50")},
        {"currency": "USD", "orders": 1, "total": Decimal("40.00")},
    ]
    assert "NGN 7500.50" in page
    assert figures["orders_by_state"]["paid"] == 4
    assert figures["orders_by_state"]["pending_payment"] == 6  # 5 payments' orders + the placed
    assert (figures["payments_1h"]["succeeded"], figures["payments_1h"]["settled"]) == (3, 4)
    assert "75 %" in page
    assert figures["pending_payment_last_hour"] == 6
    assert figures["locks"] == {"locks": 1, "units": 3}
    assert (figures["webhooks"]["failed"], figures["webhooks"]["received"]) == (1, 4)
    assert figures["notification_queue"]["dead"] == 1
    bars = figures["chart"]["bars"]
    assert len(bars) == 14
    assert bars[-1].day == timezone.localdate()
    assert bars[-1].count == Order.objects.count()
    assert page.count("<rect ") == 14
    assert "<script" not in page.split('id="content-main"')[1]


def test_orders_per_day_chart_counts_each_local_day(staff_client):
    for days_ago, count in [(0, 2), (3, 4), (13, 1), (14, 5)]:
        for order in OrderFactory.create_batch(count):
            Order.objects.filter(pk=order.pk).update(
                created_at=timezone.now() - timedelta(days=days_ago)
            )

    bars = staff_client.get(URL).context["chart"]["bars"]

    assert [bar.count for bar in bars] == [1] + [0] * 9 + [4, 0, 0, 2]
    tallest = max(bars, key=lambda bar: bar.count)
    assert tallest.y == 0  # the tallest bar fills the plot


def test_the_query_count_does_not_grow_with_the_data(staff_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(URL).status_code == 200
        return len(captured)

    empty = queries()
    for _ in range(5):
        place(UserFactory(), [(ProductFactory(stock=10), 1)])
        _paid_today("100.00")
        build.settled(succeeded=2, failed=1)
        build.webhook_events(2, failing=True)

    assert queries() == empty
    assert empty <= 15
