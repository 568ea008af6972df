import time
from decimal import Decimal

import pytest

from payments.gateways import get_provider
from payments.providers.errors import (
    GatewayBadResponse,
    GatewayRequestRejected,
    GatewayUnavailable,
    InvalidSignature,
    PaymentDeclined,
    PaymentNotFound,
)
from tests.fakes.stripe import stripe_signature_header

REFERENCE = "ORD-1001-a1"


@pytest.fixture
def stripe_gw(fake_stripe):
    return get_provider("stripe")


@pytest.fixture
def session(stripe_gw, payment_request):
    return stripe_gw.create_payment(payment_request(currency="USD"))


@pytest.fixture
def delivered(fake_stripe, webhook_sink):
    fake_stripe.webhook_target = webhook_sink.url
    return webhook_sink


@pytest.fixture
def paid(stripe_gw, fake_stripe, session):
    fake_stripe.pay(REFERENCE)
    return stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)


def test_create_payment_opens_a_checkout_session(stripe_gw, fake_stripe, payment_request):
    session = stripe_gw.create_payment(payment_request(currency="USD"))

    [created] = fake_stripe.sessions.values()
    assert session.redirect_url == f"{fake_stripe.base_url}/c/pay/{created['id']}"
    assert session.gateway_ids == {"checkout_session_id": created["id"]}
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.headers["idempotency-key"] == f"checkout-session-{REFERENCE}"
    assert call.headers["authorization"] == f"Bearer {fake_stripe.secret_key}"
    assert call.form() == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "12345",
        "line_items[0][price_data][product_data][name]": "Order ORD-1001",
        "line_items[0][quantity]": "1",
        "success_url": "http://shop.test/checkout/return/",
        "cancel_url": "http://shop.test/checkout/return/",
        "client_reference_id": REFERENCE,
        "customer_email": "ada@example.com",
        "metadata[order_number]": "ORD-1001",
        "metadata[reference]": REFERENCE,
        "payment_intent_data[metadata][order_number]": "ORD-1001",
        "payment_intent_data[metadata][reference]": REFERENCE,
    }


def test_create_is_retried_with_the_same_idempotency_key(
    stripe_gw, fake_stripe, payment_request, backoff_sleeps
):
    fake_stripe.fail_next(2, status=500)
    session = stripe_gw.create_payment(payment_request(currency="USD"))
    calls = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert [c.headers["idempotency-key"] for c in calls] == [f"checkout-session-{REFERENCE}"] * 3
    assert len(backoff_sleeps) == 2
    assert list(fake_stripe.sessions) == [session.gateway_ids["checkout_session_id"]]


def test_a_lost_answer_is_replayed_not_duplicated(stripe_gw, fake_stripe, payment_request):
    fake_stripe.drop_next(path_contains="/v1/checkout/sessions")
    session = stripe_gw.create_payment(payment_request(currency="USD"))
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 2
    assert list(fake_stripe.sessions) == [session.gateway_ids["checkout_session_id"]]


def test_create_times_out_after_its_retries(settings, fake_stripe, payment_request):
    settings.PAYMENT_HTTP_READ_TIMEOUT = 0.2
    fake_stripe.delay_next(3, seconds=1, path_contains="/v1/checkout/sessions")
    with pytest.raises(GatewayUnavailable):
        get_provider("stripe").create_payment(payment_request(currency="USD"))
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 3


def test_a_reference_cannot_be_reused_for_another_amount(stripe_gw, payment_request):
    stripe_gw.create_payment(payment_request(currency="USD"))
    with pytest.raises(GatewayRequestRejected) as caught:
        stripe_gw.create_payment(payment_request(currency="USD", amount="99.00"))
    assert (caught.value.details["type"], caught.value.details["status"]) == (
        "idempotency_error",
        400,
    )


def test_a_wrong_key_is_rejected(settings, fake_stripe, payment_request):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(GatewayRequestRejected) as caught:
        get_provider("stripe").create_payment(payment_request(currency="USD"))
    assert caught.value.details["status"] == 401


def test_verify_an_open_session_is_pending(stripe_gw, session):
    result = stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)
    assert (result.status, result.amount, result.currency) == ("pending", Decimal("123.45"), "USD")
    assert result.gateway_status == "open/unpaid"


def test_verify_a_paid_session(fake_stripe, paid):
    intent = next(iter(fake_stripe.intents.values()))
    assert (paid.status, paid.amount, paid.currency) == ("succeeded", Decimal("123.45"), "USD")
    assert paid.gateway_ids == {
        "checkout_session_id": next(iter(fake_stripe.sessions)),
        "payment_intent_id": intent["id"],
        "charge_id": intent["latest_charge"],
    }
    assert paid.gateway_status == "complete/paid/succeeded"
    assert paid.paid_at is None  # Stripe's payment time comes with the webhook event


def test_a_declined_card_leaves_the_session_pending_until_it_expires(
    stripe_gw, fake_stripe, session
):
    fake_stripe.decline(REFERENCE, message="Your card has insufficient funds.")
    declined = stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)
    assert (declined.status, declined.failure_reason) == (
        "pending",
        "Your card has insufficient funds.",
    )

    fake_stripe.expire(REFERENCE)
    expired = stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)
    assert (expired.status, expired.failure_reason) == (
        "failed",
        "Your card has insufficient funds.",
    )


def test_an_expired_session_without_an_attempt_is_abandoned(stripe_gw, fake_stripe, session):
    fake_stripe.expire(REFERENCE)
    assert stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids).status == "abandoned"


def test_verify_without_a_session_is_not_found_without_asking_stripe(stripe_gw, fake_stripe):
    with pytest.raises(PaymentNotFound):
        stripe_gw.verify(REFERENCE, gateway_ids={})
    assert fake_stripe.calls("GET", "/v1/checkout/sessions") == []


def test_verify_an_unknown_session(stripe_gw):
    with pytest.raises(PaymentNotFound):
        stripe_gw.verify(REFERENCE, gateway_ids={"checkout_session_id": "cs_test_nope"})


def test_verify_retries_5xx_then_gives_up(stripe_gw, fake_stripe, session, backoff_sleeps):
    fake_stripe.fail_next(3, status=503, path_contains="/v1/checkout/sessions/")
    with pytest.raises(GatewayUnavailable):
        stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)
    assert len(fake_stripe.calls("GET", "/v1/checkout/sessions/")) == 3
    assert len(backoff_sleeps) == 2


def test_verify_malformed_json(stripe_gw, fake_stripe, session):
    fake_stripe.malformed_next(path_contains="/v1/checkout/sessions/")
    with pytest.raises(GatewayBadResponse):
        stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)


def test_full_refund(stripe_gw, fake_stripe, paid):
    result = stripe_gw.refund(
        REFERENCE, None, "requested_by_customer", gateway_ids=paid.gateway_ids, idempotency_key="41"
    )

    [call] = fake_stripe.calls("POST", "/v1/refunds")
    assert call.headers["idempotency-key"] == "refund-41"
    assert call.form() == {
        "payment_intent": paid.gateway_ids["payment_intent_id"],
        "metadata[reference]": REFERENCE,
        "metadata[reason]": "requested_by_customer",
        "reason": "requested_by_customer",
    }
    assert (result.status, result.amount, result.currency) == ("pending", Decimal("123.45"), "USD")
    assert result.gateway_refund_id == next(iter(fake_stripe.refunds))


def test_a_refund_without_the_intent_on_record_finds_it_through_the_session(
    stripe_gw, fake_stripe, paid
):
    only_session = {"checkout_session_id": paid.gateway_ids["checkout_session_id"]}

    result = stripe_gw.refund(REFERENCE, None, "duplicate", gateway_ids=only_session)

    [call] = fake_stripe.calls("POST", "/v1/refunds")
    assert call.form()["payment_intent"] == paid.gateway_ids["payment_intent_id"]
    assert result.status == "pending"


def test_a_refund_of_an_attempt_stripe_never_saw_is_not_found_and_sends_nothing(
    stripe_gw, fake_stripe
):
    with pytest.raises(PaymentNotFound):
        stripe_gw.refund(REFERENCE, None, "duplicate", gateway_ids={})
    assert fake_stripe.calls("POST", "/v1/refunds") == []


def test_partial_refunds_and_over_refund(stripe_gw, fake_stripe, paid):
    ids = paid.gateway_ids
    first = stripe_gw.refund(
        REFERENCE, Decimal("100.00"), "damaged", currency="USD", gateway_ids=ids
    )
    assert first.amount == Decimal("100.00")
    assert fake_stripe.calls("POST", "/v1/refunds")[0].form()["amount"] == "10000"
    assert "reason" not in fake_stripe.calls("POST", "/v1/refunds")[0].form()
    with pytest.raises(GatewayRequestRejected) as caught:
        stripe_gw.refund(REFERENCE, Decimal("23.46"), "too much", currency="USD", gateway_ids=ids)
    assert caught.value.details["gateway_code"] == "amount_too_large"


def test_a_keyed_refund_is_retried_and_made_once(stripe_gw, fake_stripe, paid, backoff_sleeps):
    fake_stripe.drop_next(path_contains="/v1/refunds")
    stripe_gw.refund(REFERENCE, None, "x", gateway_ids=paid.gateway_ids, idempotency_key="7")
    assert (len(fake_stripe.calls("POST", "/v1/refunds")), len(fake_stripe.refunds)) == (2, 1)


def test_an_unkeyed_refund_is_not_retried(stripe_gw, fake_stripe, paid, backoff_sleeps):
    fake_stripe.fail_next(1, status=503, path_contains="/v1/refunds")
    with pytest.raises(GatewayUnavailable):
        stripe_gw.refund(REFERENCE, None, "x", gateway_ids=paid.gateway_ids)
    assert (len(fake_stripe.calls("POST", "/v1/refunds")), backoff_sleeps) == (1, [])


# --- webhooks -------------------------------------------------------------------------------


def events_from(stripe_gw, sink, count):
    return [e for r in sink.wait_for(count) for e in stripe_gw.parse_webhook(r.headers, r.body)]


def test_payment_webhooks(stripe_gw, fake_stripe, delivered, session):
    fake_stripe.pay(REFERENCE)

    completed, succeeded = events_from(stripe_gw, delivered, 2)
    intent_id = next(iter(fake_stripe.intents))
    assert (completed.event_type, completed.kind, completed.reference) == (
        "checkout.session.completed",
        "charge_succeeded",
        REFERENCE,
    )
    assert (completed.amount, completed.currency) == (Decimal("123.45"), "USD")
    assert completed.gateway_ids == {
        "checkout_session_id": session.gateway_ids["checkout_session_id"],
        "payment_intent_id": intent_id,
    }
    assert (succeeded.kind, succeeded.reference, succeeded.amount) == (
        "charge_succeeded",
        REFERENCE,
        Decimal("123.45"),
    )
    assert completed.event_key.startswith("evt_")
    assert completed.event_key != succeeded.event_key


def test_decline_and_expiry_webhooks(stripe_gw, fake_stripe, delivered, session):
    fake_stripe.decline(REFERENCE)
    fake_stripe.expire(REFERENCE)
    failed, expired = events_from(stripe_gw, delivered, 2)
    assert (failed.kind, failed.reference, failed.failure_reason) == (
        "charge_failed",
        REFERENCE,
        "Your card was declined.",
    )
    assert (expired.kind, expired.event_type) == ("unknown", "checkout.session.expired")


@pytest.mark.parametrize(
    ("outcome", "kind"), [("succeeded", "refund_processed"), ("failed", "refund_failed")]
)
def test_refund_webhooks(stripe_gw, fake_stripe, paid, delivered, outcome, kind):
    refund = stripe_gw.refund(
        REFERENCE, Decimal("20.00"), "x", currency="USD", gateway_ids=paid.gateway_ids
    )
    fake_stripe.settle_refund(refund.gateway_refund_id, outcome=outcome)
    [event] = events_from(stripe_gw, delivered, 1)
    assert (event.kind, event.reference, event.amount, event.currency) == (
        kind,
        REFERENCE,
        Decimal("20.00"),
        "USD",
    )
    assert event.refund.gateway_refund_id == refund.gateway_refund_id
    assert event.gateway_ids["payment_intent_id"] == paid.gateway_ids["payment_intent_id"]


@pytest.mark.parametrize(("won", "outcome"), [(True, "won"), (False, "lost")])
def test_dispute_webhooks(stripe_gw, fake_stripe, paid, delivered, won, outcome):
    dispute_id, _ = fake_stripe.open_dispute(REFERENCE, amount=5000)
    fake_stripe.close_dispute(dispute_id, won=won)
    opened, closed = events_from(stripe_gw, delivered, 2)
    assert (opened.kind, opened.amount, opened.dispute.status, opened.dispute.reason) == (
        "dispute_opened",
        Decimal("50.00"),
        "open",
        "fraudulent",
    )
    assert opened.reference is None  # disputes carry no metadata: map by payment_intent_id
    assert opened.gateway_ids["payment_intent_id"] == paid.gateway_ids["payment_intent_id"]
    assert opened.dispute.evidence_due is not None
    assert (closed.kind, closed.dispute.status) == ("dispute_resolved", outcome)


def test_a_replayed_old_event_is_refused(stripe_gw, fake_stripe, session):
    [_, webhook] = fake_stripe.pay(REFERENCE)
    stale = stripe_signature_header(
        webhook.body, fake_stripe.webhook_secret, int(time.time()) - 301
    )
    with pytest.raises(InvalidSignature):
        stripe_gw.parse_webhook({"Stripe-Signature": stale}, webhook.body)


def test_a_card_error_is_a_decline(stripe_gw, fake_stripe, payment_request):
    fake_stripe.answer_next(
        status=402,
        body=b'{"error": {"type": "card_error", "code": "card_declined", '
        b'"message": "Your card was declined."}}',
    )
    with pytest.raises(PaymentDeclined) as caught:
        stripe_gw.create_payment(payment_request(currency="USD"))
    assert (caught.value.code, caught.value.http_status) == ("payment_declined", 402)
    assert caught.value.message == "Your card was declined."
