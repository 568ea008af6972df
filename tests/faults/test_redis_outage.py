"""Redis stopped while customers check out, gateways post webhooks and messages are queued.

Real processes on a Redis of the test's own (stopped and started again on the same port):
gunicorn, a Celery worker, `celery beat` with one-second intervals, the fake Paystack and a
fake SMTP server. While Redis is away, what fails open stays open (checkout and webhook rate
limits: the order and the webhook are committed) and what fails closed answers 503 (sign-in
limits). Once Redis is back, the beat's re-drive and outbox sweep finish the work: the order is
paid once, the webhook processed once, every message sent once.
"""

from datetime import timedelta

import pytest
import requests
from django.db import connections
from django.db.models import F
from django.test import override_settings

from accounts.tokens import issue_token
from notifications.models import Notification
from orders.models import Order, OrderEvent
from payments.models import Payment, WebhookEvent
from shop.models import Product
from shop.platform_settings import set_setting
from tests.factories import DEFAULT_PASSWORD, AddressFactory, ProductFactory, UserFactory
from tests.fakes.paystack import FakePaystack
from tests.fakes.smtp_server import FakeSmtpServer
from tests.faults.processes import CeleryBeat, shop_environment
from tests.ops.worker import wait_for
from tests.orders.helpers import fill_cart
from tests.servers import AppServer, CeleryWorker, PrivateRedis, database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

PRODUCTION_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture
def shop(tmp_path):
    set_setting("checkout.allowed_payment_methods", ["paystack", "bank_transfer"])
    smtp = FakeSmtpServer()
    smtp.start()
    paystack = FakePaystack().start()
    redis_server = PrivateRedis(tmp_path).start()
    env = shop_environment(
        database=database_url(connections["default"].settings_dict),
        redis_url=redis_server.url,
        paystack=paystack,
        smtp=smtp,
        # Every limit on: the outage must meet each fail mode, not a limit turned off.
        THROTTLE_CHECKOUT_RATE="100/min",
        THROTTLE_WEBHOOK_RATE="100/min",
        THROTTLE_LOGIN_RATE="100/min",
        AUTH_THROTTLE_RATE="100/min",
        BEAT_REDRIVE_WEBHOOKS_SECONDS="1",
        BEAT_DISPATCH_NOTIFICATIONS_SECONDS="1",
    )
    started: list[AppServer | CeleryWorker | CeleryBeat] = []
    try:
        server = AppServer(dict(env), workers=2, name="redis-outage").start()
        started.append(server)
        started.append(CeleryWorker(dict(env), concurrency=2).start())
        beat = CeleryBeat(dict(env)).start()
        started.append(beat)
        paystack.webhook_target = server.url("/api/webhooks/paystack/")
        yield server, beat, redis_server, paystack, smtp
    finally:
        for process in reversed(started):
            process.stop()
        redis_server.stop()
        paystack.stop()
        smtp.stop()


def _dispatch_runs(beat: CeleryBeat) -> int:
    return beat.log().count("notifications.dispatch_notifications")


def test_with_redis_down_orders_and_webhooks_commit_and_the_sweeps_finish_once_it_is_back(shop):
    server, beat, redis_server, paystack, smtp = shop
    product = ProductFactory.create(stock=10)
    customer = UserFactory.create()
    with override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS):  # the app servers' hashers
        customer.set_password(DEFAULT_PASSWORD)
        customer.save(update_fields=["password"])
    fill_cart(customer, [(product, 2)])
    address = AddressFactory.create(customer=customer)
    headers = {"Authorization": f"Token {issue_token(customer).token}"}

    redis_server.stop()

    placed = requests.post(
        server.url("/api/checkout/"),
        json={"payment_method": "paystack", "address_id": address.pk},
        headers={**headers, "Idempotency-Key": "redis-down-1"},
        timeout=30,
    )
    sign_in = requests.post(
        server.url("/api/auth/token/"),
        json={"email": customer.email, "password": DEFAULT_PASSWORD},
        timeout=30,
    )
    paystack.pay(placed.json()["payment"]["reference"])  # the webhook is posted to gunicorn

    assert placed.status_code == 201, placed.text  # the checkout limit fails open
    assert (sign_in.status_code, sign_in.json()["error"]["code"]) == (
        503,
        "rate_limit_unavailable",  # the sign-in limit fails closed
    )
    assert [d.status_code for d in paystack.deliveries] == [200]  # stored, answered
    order = Order.objects.get(pk=placed.json()["id"])
    webhook = WebhookEvent.objects.get(event_type="charge.success")
    assert webhook.signature_valid
    assert webhook.processed_at is None  # its task could not be queued
    assert order.state == "pending_payment"
    assert list(Notification.objects.values_list("template", "status")) == [
        ("order_placed", "queued")
    ]
    # The outage lasted past the re-drive age (ops.redrive_webhooks_after_minutes).
    WebhookEvent.objects.filter(pk=webhook.pk).update(
        received_at=F("received_at") - timedelta(minutes=10)
    )

    redis_server.start()

    wait_for(lambda: Order.objects.get(pk=order.pk).state == "paid", timeout=60, what="order paid")
    wait_for(
        lambda: (
            Notification.objects.count() == 2
            and not Notification.objects.exclude(status="sent").exists()
        ),
        timeout=60,
        what="both messages sent by the outbox sweep",
    )
    runs = _dispatch_runs(beat)
    wait_for(lambda: _dispatch_runs(beat) >= runs + 2, what="two more outbox sweeps")
    assert sorted(Notification.objects.values_list("template", "attempts")) == [
        ("order_placed", 1),
        ("payment_received", 1),
    ]
    assert len(smtp.received) == 2  # each message sent once, none again by later sweeps
    assert {message["To"] for message in smtp.received} == {customer.email}
    webhook.refresh_from_db()
    assert (webhook.outcome, webhook.attempts) == ("paid", 1)
    assert WebhookEvent.objects.filter(signature_valid=True).count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert Payment.objects.get(order=order).status == "succeeded"
    assert Product.objects.get(pk=product.pk).stock == 8
    signed_in = requests.post(
        server.url("/api/auth/token/"),
        json={"email": customer.email, "password": DEFAULT_PASSWORD},
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text  # closed only while Redis was away
