"""pytest fixtures: each fake gateway started on an ephemeral port, settings pointed at it.

Loaded for the whole suite from tests/conftest.py (``pytest_plugins``). The fakes deliver
webhooks to ``fake.webhook_target`` when a test sets it (e.g. a live_server URL or a
``webhook_sink``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payments.providers import http as payments_http
from tests.fakes.flutterwave import FakeFlutterwave
from tests.fakes.paystack import FakePaystack
from tests.fakes.sink import WebhookSink
from tests.fakes.stripe import FakeStripe


@pytest.fixture
def backoff_sleeps(monkeypatch) -> list[float]:
    """Retry backoff without waiting: the delays the client asked for are recorded instead."""
    slept: list[float] = []
    monkeypatch.setattr(payments_http, "backoff_sleep", slept.append)
    return slept


@pytest.fixture
def fast_payment_http(settings, backoff_sleeps) -> None:
    settings.PAYMENT_HTTP_CONNECT_TIMEOUT = 2
    settings.PAYMENT_HTTP_READ_TIMEOUT = 2
    settings.PAYMENT_HTTP_MAX_RETRIES = 2


@pytest.fixture
def fake_paystack(settings, fast_payment_http) -> Iterator[FakePaystack]:
    fake = FakePaystack().start()
    settings.PAYSTACK_BASE_URL = fake.base_url
    settings.PAYSTACK_SECRET_KEY = fake.secret_key
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(settings, fast_payment_http) -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_SECRET_KEY = fake.secret_key
    settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
    yield fake
    fake.stop()


@pytest.fixture
def fake_flutterwave(settings, fast_payment_http) -> Iterator[FakeFlutterwave]:
    fake = FakeFlutterwave().start()
    settings.FLUTTERWAVE_BASE_URL = fake.base_url
    settings.FLUTTERWAVE_SECRET_KEY = fake.secret_key
    settings.FLUTTERWAVE_WEBHOOK_HASH = fake.webhook_hash
    yield fake
    fake.stop()


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink().start()
    yield sink
    sink.stop()
