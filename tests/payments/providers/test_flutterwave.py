from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payments.gateways import get_provider
from payments.providers.errors import (
    GatewayBadResponse,
    GatewayRequestRejected,
    GatewayUnavailable,
    PaymentNotFound,
)

REFERENCE = "ORD-1001-a1"


@pytest.fixture
def flutterwave(fake_flutterwave):
    return get_provider("flutterwave")


@pytest.fixture
def created(flutterwave, payment_request):
    return flutterwave.create_payment(payment_request(amount="7500.50"))


@pytest.fixture
def delivered(fake_flutterwave, webhook_sink):
    fake_flutterwave.webhook_target = webhook_sink.url
    return webhook_sink


@pytest.fixture
def paid(flutterwave, fake_flutterwave, created):
    fake_flutterwave.pay(REFERENCE)
    return flutterwave.verify(REFERENCE)


def test_create_payment_returns_the_hosted_link_and_sends_major_units(
    flutterwave, fake_flutterwave, payment_request
):
    session = flutterwave.create_payment(payment_request(amount="7500.50"))

    assert session.redirect_url.startswith(f"{fake_flutterwave.base_url}/v3/hosted/pay/flwlnk-")
    [call] = fake_flutterwave.calls("POST", "/v3/payments")
    assert call.headers["authorization"] == f"Bearer {fake_flutterwave.secret_key}"
    assert call.body.startswith(b'{"tx_ref":"ORD-1001-a1","amount":7500.50,"currency":"NGN"')
    assert call.json()["customer"] == {"email": "ada@example.com"}
    assert call.json()["redirect_url"] == "http://shop.test/checkout/return/"
    assert call.json()["meta"] == {"order_number": "ORD-1001", "reference": REFERENCE}


def test_create_payment_timeout_is_not_retried(
    settings, fake_flutterwave, payment_request, backoff_sleeps
):
    settings.PAYMENT_HTTP_READ_TIMEOUT = 0.3
    fake_flutterwave.fail_next(1, status=503, delay=1)  # Flutterwave: 503 after a long wait
    with pytest.raises(GatewayUnavailable):
        get_provider("flutterwave").create_payment(payment_request())
    assert (len(fake_flutterwave.calls("POST", "/v3/payments")), backoff_sleeps) == (1, [])


def test_verify_pending_successful_and_failed(flutterwave, fake_flutterwave, created):
    pending = flutterwave.verify(REFERENCE)
    assert (pending.status, pending.amount, pending.paid_at) == (
        "pending",
        Decimal("7500.50"),
        None,
    )

    fake_flutterwave.pay(REFERENCE)
    paid = flutterwave.verify(REFERENCE)
    transaction = fake_flutterwave.transactions[REFERENCE]
    assert (paid.status, paid.amount, paid.currency) == ("succeeded", Decimal("7500.50"), "NGN")
    assert paid.gateway_ids == {
        "transaction_id": str(transaction["id"]),
        "flw_ref": transaction["flw_ref"],
    }
    assert paid.paid_at == datetime.fromisoformat(transaction["created_at"]).astimezone(UTC)

    fake_flutterwave.decline(REFERENCE)
    failed = flutterwave.verify(REFERENCE)
    assert (failed.status, failed.failure_reason) == ("failed", "Insufficient funds")


def test_verify_reports_the_amount_actually_paid(flutterwave, fake_flutterwave, created):
    fake_flutterwave.pay(REFERENCE, amount=Decimal("7000"))
    assert flutterwave.verify(REFERENCE).amount == Decimal("7000.00")


def test_verify_an_unknown_reference(flutterwave):
    with pytest.raises(PaymentNotFound):
        flutterwave.verify("NOPE")


def test_verify_retries_5xx(flutterwave, fake_flutterwave, created, backoff_sleeps):
    fake_flutterwave.fail_next(2, status=502, html=True, path_contains="verify_by_reference")
    assert flutterwave.verify(REFERENCE).status == "pending"
    assert (len(fake_flutterwave.calls("GET", "verify_by_reference")), len(backoff_sleeps)) == (
        3,
        2,
    )

    fake_flutterwave.fail_next(3, status=503, path_contains="verify_by_reference")
    with pytest.raises(GatewayUnavailable):
        flutterwave.verify(REFERENCE)


def test_verify_malformed_json(flutterwave, fake_flutterwave, created):
    fake_flutterwave.malformed_next(path_contains="verify_by_reference")
    with pytest.raises(GatewayBadResponse):
        flutterwave.verify(REFERENCE)


def test_full_refund_looks_up_the_transaction_then_refunds_it(flutterwave, fake_flutterwave, paid):
    result = flutterwave.refund(REFERENCE, None, "customer request")

    transaction_id = paid.gateway_ids["transaction_id"]
    [call] = fake_flutterwave.calls("POST", f"/v3/transactions/{transaction_id}/refund")
    assert call.body == b'{"comments":"customer request","amount":7500.50}'
    assert (result.status, result.amount, result.currency) == (
        "succeeded",
        Decimal("7500.50"),
        "NGN",
    )
    assert result.gateway_refund_id == str(next(iter(fake_flutterwave.refunds)))


def test_partial_refunds_and_over_refund(flutterwave, fake_flutterwave, paid):
    ids = paid.gateway_ids
    part = flutterwave.refund(REFERENCE, Decimal("500.25"), "", currency="NGN", gateway_ids=ids)
    assert part.amount == Decimal("500.25")
    assert len(fake_flutterwave.calls("GET", "verify")) == 1  # the id was given: no lookup
    with pytest.raises(GatewayRequestRejected) as caught:
        flutterwave.refund(REFERENCE, Decimal("7000.26"), "", currency="NGN", gateway_ids=ids)
    assert caught.value.message == "Refund amount exceeds the refundable amount"


def test_refund_is_never_retried(flutterwave, fake_flutterwave, paid, backoff_sleeps):
    fake_flutterwave.fail_next(1, status=503, path_contains="/refund")
    with pytest.raises(GatewayUnavailable):
        flutterwave.refund(REFERENCE, None, "x", gateway_ids=paid.gateway_ids)
    assert len(fake_flutterwave.calls("POST", "/refund")) == 1
    assert fake_flutterwave.refunds == {}


@pytest.mark.parametrize(
    ("complete", "kind", "failure"),
    [("pay", "charge_succeeded", None), ("decline", "charge_failed", "Insufficient funds")],
)
def test_charge_completed_webhooks(
    flutterwave, fake_flutterwave, delivered, created, complete, kind, failure
):
    getattr(fake_flutterwave, complete)(REFERENCE)
    [received] = delivered.wait_for(1)
    assert received.headers["verif-hash"] == fake_flutterwave.webhook_hash

    [event] = flutterwave.parse_webhook(received.headers, received.body)
    transaction = fake_flutterwave.transactions[REFERENCE]
    assert (event.kind, event.reference, event.amount, event.currency) == (
        kind,
        REFERENCE,
        Decimal("7500.50"),
        "NGN",
    )
    assert event.failure_reason == failure
    assert event.trusted is False
    assert event.event_key == f"charge.completed:{transaction['id']}:{transaction['status']}"


def test_legacy_v2_webhooks_are_acknowledged_as_unknown(flutterwave, fake_flutterwave):
    webhook = fake_flutterwave.emit(
        "CARD_TRANSACTION",
        {"event.type": "CARD_TRANSACTION", "id": 9, "txRef": REFERENCE, "status": "successful"},
    )
    [event] = flutterwave.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.reference, event.event_key) == (
        "unknown",
        REFERENCE,
        "CARD_TRANSACTION:9:successful",
    )


def test_verify_by_transaction_id_when_it_is_known(flutterwave, fake_flutterwave, paid):
    again = flutterwave.verify(REFERENCE, gateway_ids=paid.gateway_ids)
    transaction_id = paid.gateway_ids["transaction_id"]
    assert (again.status, again.amount) == ("succeeded", Decimal("7500.50"))
    assert len(fake_flutterwave.calls("GET", f"/v3/transactions/{transaction_id}/verify")) == 1


def test_verify_by_id_refuses_an_answer_for_another_tx_ref(
    flutterwave, fake_flutterwave, payment_request, paid
):
    flutterwave.create_payment(payment_request(reference="OTHER-1"))
    with pytest.raises(GatewayBadResponse):
        flutterwave.verify("OTHER-1", gateway_ids=paid.gateway_ids)
