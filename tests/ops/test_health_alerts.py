"""ops.check_health_alerts: the alert rules for shops without Prometheus, mailed to staff
once per alert and clock hour."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services as inventory
from notifications.models import Notification
from ops.health_alerts import check_health_alerts, evaluate_health_alerts
from ops.tasks import check_health_alerts as check_health_alerts_task
from tests.factories import ProductFactory
from tests.ops import health_builders as build
from tests.ops.health_builders import fresh_shared_counters  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_shared_counters")]

STAFF = ["ops@example.com", "owner@example.com"]


@pytest.fixture(autouse=True)
def _staff_addresses(settings):
    settings.SHOP_STAFF_ALERT_EMAILS = STAFF
    settings.SITE_URL = "https://shop.example.com"


def alerts_sent() -> list[tuple[str, str, str]]:
    return sorted(
        Notification.objects.filter(template="health_alert").values_list(
            "context__alert", "recipient", "dedup_key"
        )
    )


def fired(**kwargs) -> list[str]:
    return [alert.name for alert in evaluate_health_alerts(**kwargs)]


# --- Each alert fires on its data and not below its threshold ---------------------------------


def test_nothing_fires_on_a_quiet_shop():
    assert check_health_alerts() == []
    assert alerts_sent() == []


@pytest.mark.parametrize(
    ("succeeded", "failed", "fires"),
    [(8, 2, True), (89, 11, True), (9, 1, False), (10, 0, False)],
)
def test_payment_success_rate_below_90_percent_in_the_last_hour(succeeded, failed, fires):
    build.settled(succeeded=succeeded, failed=failed, minutes_ago=30)
    build.settled(succeeded=0, failed=50, minutes_ago=90)  # older than the hour: ignored

    assert fired() == (["payment_success_rate_low"] if fires else [])


@pytest.mark.parametrize(("failing", "fires"), [(2, True), (1, False)])
def test_webhook_failures_above_5_percent_in_the_last_hour(failing, fires):
    build.webhook_events(20 - failing, failing=False)
    build.webhook_events(failing, failing=True)  # 2/20 = 10 %, 1/20 = 5 % (not above)
    build.webhook_events(30, failing=True, minutes_ago=120)  # older than the hour

    assert fired() == (["webhook_failures_high"] if fires else [])


@pytest.mark.parametrize(("expiring", "fires"), [(3, True), (2, False)])
def test_locks_expiring_unpaid_above_20_percent_of_the_day(
    expiring, fires, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock=100)
    later = timezone.now() + timedelta(minutes=31)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(10):  # 10 locks created, `expiring` of them left to run out
            ttl = timedelta(minutes=30 if n < expiring else 120)
            inventory.reserve(lines={product.pk: 1}, owner=f"ORD-{n}", ttl=ttl)
    with django_capture_on_commit_callbacks(execute=True):
        assert inventory.sweep_expired(now=later) == expiring

    assert fired() == (["locks_expiring_unpaid"] if fires else [])


@pytest.mark.parametrize(("minutes_ago", "fires"), [(5, True), (61, False)])
def test_a_dispute_opened_in_the_last_hour(minutes_ago, fires):
    build.dispute(minutes_ago=minutes_ago)

    assert fired() == (["dispute_opened"] if fires else [])


# --- Sending: every staff address, once per alert and hour ------------------------------------


def test_an_alert_is_mailed_to_every_staff_address_once_per_hour():
    hour_start = timezone.now().replace(minute=0, second=0, microsecond=0)
    first_run = hour_start + timedelta(minutes=30)
    build.settled(succeeded=1, failed=1, at=first_run - timedelta(minutes=10))
    build.dispute(at=first_run - timedelta(minutes=10))

    assert check_health_alerts(now=first_run) == ["payment_success_rate_low", "dispute_opened"]
    assert check_health_alerts(now=first_run + timedelta(minutes=20)) == [
        "payment_success_rate_low",
        "dispute_opened",
    ]
    hour = timezone.localtime(first_run).strftime("%Y-%m-%dT%H")
    assert alerts_sent() == sorted(
        (alert, address, f"health_alert:{alert}:{hour}:email:{address}")
        for alert in ("dispute_opened", "payment_success_rate_low")
        for address in STAFF
    )

    next_hour = first_run + timedelta(minutes=40)  # the data is 50 min old: still in the window
    check_health_alerts(now=next_hour)
    assert len(alerts_sent()) == 8


def test_the_alert_message_names_the_figure_and_threshold():
    build.settled(succeeded=8, failed=2)

    check_health_alerts()

    context = Notification.objects.filter(template="health_alert").first().context
    assert context == {
        "alert": "payment_success_rate_low",
        "summary": "Payment success rate over the last hour is 80.0 % (8 of 10 settled payments).",
        "value": "80.0 %",
        "threshold": "at least 90.0 %",
        "dashboard_url": "https://shop.example.com/admin/dashboard/",
    }


def test_thresholds_are_settings(settings):
    build.settled(succeeded=8, failed=2)
    settings.HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT = 75

    assert fired() == []


def test_the_beat_task_is_scheduled_and_runs_the_check(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["check-health-alerts"]
    assert (entry["task"], entry["schedule"]) == ("ops.check_health_alerts", 300.0)
    build.dispute()

    check_health_alerts_task.delay()

    assert [alert for alert, _, _ in alerts_sent()] == ["dispute_opened", "dispute_opened"]


def test_counts_from_a_request_reach_redis_without_a_read_in_between():
    """The background flush sends them; another process (here: Redis read directly) sees
    them within a second or so."""
    from django.core.cache import caches

    from observability.metrics import INVENTORY_LOCKS_CREATED

    INVENTORY_LOCKS_CREATED.inc(3)
    cache = caches["default"]
    client = cache._cache.get_client(write=False)
    key = cache.make_and_validate_key("metrics:shared:inventory_locks_created:total")
    deadline = time.monotonic() + 10
    while client.get(key) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the background flush, with a deadline
    assert int(client.get(key)) == 3
