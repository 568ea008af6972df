"""Rows for the health figures: payments, webhook events and disputes at chosen times."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from observability import shared_counters
from payments.models import Dispute, Payment, PaymentStatus, WebhookEvent
from tests.factories import OrderFactory

_serial = itertools.count(1)


def _when(minutes_ago: int, at: datetime | None) -> datetime:
    return at if at is not None else timezone.now() - timedelta(minutes=minutes_ago)


def payments(
    status: str, count: int = 1, *, minutes_ago: int = 10, at: datetime | None = None
) -> list[Payment]:
    started = _when(minutes_ago, at)
    return [
        Payment.objects.create(
            order=OrderFactory(),
            gateway="paystack",
            reference=f"HLT-{next(_serial)}",
            attempt=1,
            amount=Decimal("5000.00"),
            currency="NGN",
            status=status,
            created_at=started,
        )
        for _ in range(count)
    ]


def settled(*, succeeded: int, failed: int, minutes_ago: int = 10, at=None) -> None:
    payments(PaymentStatus.SUCCEEDED, succeeded, minutes_ago=minutes_ago, at=at)
    payments(PaymentStatus.FAILED, failed, minutes_ago=minutes_ago, at=at)


def webhook_events(count: int, *, failing: bool, minutes_ago: int = 10, at=None) -> None:
    received = _when(minutes_ago, at)
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            gateway="paystack",
            event_key=f"health:{next(_serial)}",
            event_type="charge.success",
            raw_body="{}",
            signature_valid=True,
            received_at=received,
            processed_at=None if failing else received,
            attempts=1,
            last_error="RuntimeError: boom" if failing else "",
            outcome="" if failing else "paid",
        )
        for _ in range(count)
    )


def dispute(*, minutes_ago: int = 10, at: datetime | None = None) -> Dispute:
    payment = payments(PaymentStatus.SUCCEEDED)[0]
    return Dispute.objects.create(
        payment=payment,
        order=payment.order,
        gateway="paystack",
        gateway_dispute_id=f"DSP-{next(_serial)}",
        opened_at=_when(minutes_ago, at),
    )


@pytest.fixture
def fresh_shared_counters():
    """Shared counters live in Redis across tests: start each test that reads them at zero."""

    def clear():
        shared_counters.flush()  # counts still unsent from earlier tests land before the clear
        cache = caches["default"]
        assert isinstance(cache, RedisCache), "the suite runs on Redis"
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=cache.make_key("metrics:shared:*")))
        if keys:
            client.delete(*keys)

    clear()
    yield
    clear()
