"""deploy/prometheus/alerts.yml: every series a rule reads is one the app really exports
(scraped from /metrics after producing it), every threshold is the one the beat health check
uses (HEALTH_ALERT_* settings), and — with promtool installed (.ci/run installs it) — the
rules fire and stay quiet as deploy/prometheus/alerts_test.yml expects."""

import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from inventory import services as inventory
from observability.metrics import DISPUTES_OPENED
from payments.models import Payment
from payments.providers import DisputeInfo, GatewayEvent
from payments.services import apply_gateway_event
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory
from tests.observability.test_metrics import METRICS_TOKEN, scrape, value
from tests.ops import health_builders as build
from tests.ops.health_builders import fresh_shared_counters  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

RULES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"

# alert -> (series it reads, comparison, threshold as a ratio of the setting in percent)
EXPECTED = {
    "PaymentSuccessRateLow": (
        {"shop_payment_success_ratio"},
        "<",
        settings.HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT,
    ),
    "WebhookFailuresHigh": (
        {"shop_webhook_failure_ratio"},
        ">",
        settings.HEALTH_ALERT_WEBHOOK_FAILURE_MAX_PERCENT,
    ),
    "LocksExpiringUnpaid": (
        {"inventory_locks_expired_total", "inventory_locks_created_total"},
        ">",
        settings.HEALTH_ALERT_LOCK_EXPIRY_MAX_PERCENT,
    ),
    "DisputeOpened": ({"disputes_opened_total"}, ">", 0),
}

# A series name: what stands before a label matcher `{` or a range `[`.
SERIES = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=[{\[])")
# The rule's final comparison: `> 0.20`, `< 0.90`.
COMPARISON = re.compile(r"([<>])\s*([0-9.]+)\s*$")


def rules() -> dict[str, dict]:
    document = yaml.safe_load(RULES_FILE.read_text())
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def test_every_seed_alert_has_exactly_one_rule():
    assert sorted(rules()) == sorted(EXPECTED)


@pytest.mark.parametrize("alert", sorted(EXPECTED))
def test_rule_reads_the_expected_series_with_the_settings_threshold(alert):
    expr = rules()[alert]["expr"].strip()
    series, comparison, percent = EXPECTED[alert]

    assert set(SERIES.findall(expr)) == series
    operator, threshold = COMPARISON.search(expr).groups()
    assert (operator, Decimal(threshold)) == (comparison, Decimal(percent) / 100)
    assert rules()[alert]["annotations"]["summary"]


def _gateway_event(payment: Payment, kind: str, key: str, **extra) -> GatewayEvent:
    return GatewayEvent(
        gateway="paystack",
        kind=kind,  # type: ignore[arg-type]
        event_type=kind.replace("_", "."),
        event_key=key,
        reference=payment.reference,
        amount=payment.amount,
        currency="NGN",
        occurred_at=timezone.now(),
        **extra,
    )


def _dispute_info(payment: Payment) -> DisputeInfo:
    return DisputeInfo(
        gateway_dispute_id=f"dp-{payment.reference}",
        status="open",
        reason="fraudulent",
        evidence_due=None,
        amount=payment.amount,
        currency="NGN",
    )


def _paid_order_disputed() -> Payment:
    """A paid Paystack order whose gateway then reports a dispute (the real event path)."""
    order = OrderFactory(
        state="pending_payment", payment_status="pending", payment_method="paystack"
    )
    OrderItemFactory(order=order, product=ProductFactory(stock=5), quantity=1)
    payment = Payment.objects.create(
        order=order,
        gateway="paystack",
        reference=f"{order.number}-1",
        attempt=1,
        amount=order.total,
        currency=order.currency,
        status="pending",
    )
    apply_gateway_event(event=_gateway_event(payment, "charge_succeeded", "charge"))
    dispute = _gateway_event(payment, "dispute_opened", "dispute", dispute=_dispute_info(payment))
    assert apply_gateway_event(event=dispute) == "disputed"
    return payment


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[])
@pytest.mark.usefixtures("fresh_shared_counters")
def test_every_series_the_rules_read_is_on_metrics(client, django_capture_on_commit_callbacks):
    build.settled(succeeded=8, failed=2)
    build.webhook_events(9, failing=False)
    build.webhook_events(1, failing=True)
    product = ProductFactory(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        inventory.reserve(lines={product.pk: 2}, owner="ORD-A", ttl=timedelta(minutes=30))
        inventory.reserve(lines={product.pk: 1}, owner="ORD-B", ttl=timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        inventory.sweep_expired(now=timezone.now() + timedelta(minutes=31))
    with django_capture_on_commit_callbacks(execute=True):
        _paid_order_disputed()

    scraped = scrape(client)

    exported = {name for name, _ in scraped}
    for alert, (series, _, _) in EXPECTED.items():
        assert series <= exported, f"{alert} reads {series - exported}, not exported"
    # 8 + the disputed order's payment succeeded, 2 failed
    assert value(scraped, "shop_payment_success_ratio", window="1h") == 0.8182
    assert value(scraped, "shop_webhook_failure_ratio", window="1h") == 0.1
    assert value(scraped, "inventory_locks_created_total") == 2
    assert value(scraped, "inventory_locks_expired_total") == 2
    assert value(scraped, "disputes_opened_total") == 1


@pytest.mark.usefixtures("fresh_shared_counters")
def test_a_dispute_reported_twice_is_counted_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payment = _paid_order_disputed()
    again = _gateway_event(payment, "dispute_opened", "again", dispute=_dispute_info(payment))
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_gateway_event(event=again) == "already_recorded"

    assert DISPUTES_OPENED.total() == 1


# --- promtool: the rules' behaviour on synthetic series (deploy/prometheus/alerts_test.yml) ---


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_promtool_rule_unit_tests_pass():
    result = subprocess.run(  # noqa: S603 - fixed argv
        [PROMTOOL, "test", "rules", "alerts_test.yml"],
        cwd=RULES_FILE.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed")
def test_promtool_accepts_the_rules_file():
    result = subprocess.run(  # noqa: S603 - fixed argv
        [PROMTOOL, "check", "rules", str(RULES_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout
