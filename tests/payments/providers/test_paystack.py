import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payments.gateways import get_provider
from payments.providers.errors import (
    GatewayBadResponse,
    GatewayRequestRejected,
    GatewayUnavailable,
    InvalidWebhookPayload,
    PaymentNotFound,
    UnsupportedCurrency,
)


@pytest.fixture
def paystack(fake_paystack):
    return get_provider("paystack")


@pytest.fixture
def paid(paystack, fake_paystack, payment_request):
    paystack.create_payment(payment_request())
    fake_paystack.pay("ORD-1001-a1")
    return "ORD-1001-a1"


def test_create_payment_returns_the_hosted_page_and_sends_kobo(
    paystack, fake_paystack, payment_request
):
    session = paystack.create_payment(payment_request())

    transaction = fake_paystack.transactions["ORD-1001-a1"]
    assert session.redirect_url == f"{fake_paystack.base_url}/checkout/{transaction['access_code']}"
    assert session.gateway_ids == {"access_code": transaction["access_code"]}
    [call] = fake_paystack.calls("POST", "/transaction/initialize")
    assert call.headers["authorization"] == f"Bearer {fake_paystack.secret_key}"
    assert call.json() == {
        "email": "ada@example.com",
        "amount": 12345,
        "currency": "NGN",
        "reference": "ORD-1001-a1",
        "callback_url": "http://shop.test/checkout/return/",
        "metadata": {"order_number": "ORD-1001", "reference": "ORD-1001-a1"},
    }


def test_create_payment_refuses_a_currency_paystack_does_not_take(
    paystack, fake_paystack, payment_request
):
    with pytest.raises(UnsupportedCurrency):
        paystack.create_payment(payment_request(currency="EUR"))
    assert fake_paystack.requests == []


def test_a_reused_reference_is_rejected_by_the_gateway(paystack, payment_request):
    paystack.create_payment(payment_request())
    with pytest.raises(GatewayRequestRejected) as caught:
        paystack.create_payment(payment_request())
    assert caught.value.message == "Duplicate Transaction Reference"
    assert caught.value.details["gateway_code"] == "duplicate_reference"


def test_a_wrong_secret_key_is_a_rejection_not_an_outage(settings, fake_paystack, payment_request):
    settings.PAYSTACK_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(GatewayRequestRejected) as caught:
        get_provider("paystack").create_payment(payment_request())
    assert (caught.value.message, caught.value.details["status"]) == ("Invalid key", 401)


def test_verify_a_successful_payment(paystack, fake_paystack, paid):
    result = paystack.verify(paid)

    transaction = fake_paystack.transactions[paid]
    assert (result.status, result.amount, result.currency) == (
        "succeeded",
        Decimal("123.45"),
        "NGN",
    )
    assert result.gateway_status == "success"
    assert result.paid_at == datetime.fromisoformat(transaction["paid_at"]).astimezone(UTC)
    assert result.gateway_ids == {"transaction_id": str(transaction["id"])}
    assert result.failure_reason is None


def test_verify_reports_the_amount_actually_paid(paystack, fake_paystack, payment_request):
    paystack.create_payment(payment_request())
    fake_paystack.pay("ORD-1001-a1", amount=10000)
    result = paystack.verify("ORD-1001-a1")
    assert (result.status, result.amount) == ("succeeded", Decimal("100.00"))


@pytest.mark.parametrize(
    ("gateway_status", "status"),
    [
        ("abandoned", "abandoned"),
        ("ongoing", "pending"),
        ("pending", "pending"),
        ("processing", "pending"),
        ("queued", "pending"),
        ("reversed", "reversed"),
    ],
)
def test_verify_maps_every_documented_status(
    paystack, fake_paystack, payment_request, gateway_status, status
):
    paystack.create_payment(payment_request())
    fake_paystack.set_status("ORD-1001-a1", gateway_status)
    result = paystack.verify("ORD-1001-a1")
    assert (result.status, result.gateway_status) == (status, gateway_status)


def test_an_unpaid_transaction_verifies_as_abandoned(paystack, payment_request):
    paystack.create_payment(payment_request())
    assert paystack.verify("ORD-1001-a1").status == "abandoned"


def test_verify_a_declined_payment(paystack, fake_paystack, payment_request):
    paystack.create_payment(payment_request())
    fake_paystack.decline("ORD-1001-a1", "Declined by issuer")
    result = paystack.verify("ORD-1001-a1")
    assert (result.status, result.failure_reason, result.paid_at) == (
        "failed",
        "Declined by issuer",
        None,
    )


def test_verify_an_unknown_reference(paystack):
    with pytest.raises(PaymentNotFound) as caught:
        paystack.verify("NOPE-1")
    assert caught.value.http_status == 404


def test_verify_retries_5xx_with_backoff_then_succeeds(
    paystack, fake_paystack, paid, backoff_sleeps
):
    fake_paystack.fail_next(2, status=503, path_contains="/transaction/verify/")
    assert paystack.verify(paid).status == "succeeded"
    assert len(fake_paystack.calls("GET", "/transaction/verify/")) == 3
    assert len(backoff_sleeps) == 2
    assert 0.25 <= backoff_sleeps[0] < 0.5
    assert 0.5 <= backoff_sleeps[1] < 1.0


def test_verify_surfaces_gateway_unavailable_after_the_retries(
    paystack, fake_paystack, paid, backoff_sleeps
):
    fake_paystack.fail_next(3, status=502, html=True, path_contains="/transaction/verify/")
    with pytest.raises(GatewayUnavailable) as caught:
        paystack.verify(paid)
    assert (caught.value.code, caught.value.http_status) == ("payment_gateway_unavailable", 502)
    assert len(fake_paystack.calls("GET", "/transaction/verify/")) == 3
    assert len(backoff_sleeps) == 2


def test_initialize_timeout_is_unavailable_and_never_retried(
    settings, fake_paystack, payment_request, backoff_sleeps
):
    settings.PAYMENT_HTTP_READ_TIMEOUT = 0.3
    fake_paystack.delay_next(seconds=2, path_contains="/transaction/initialize")
    with pytest.raises(GatewayUnavailable) as caught:
        get_provider("paystack").create_payment(payment_request())
    assert caught.value.details["reason"] == "ReadTimeout"
    assert len(fake_paystack.calls("POST", "/transaction/initialize")) == 1
    assert backoff_sleeps == []


def test_a_slow_answer_within_the_timeout_is_fine(fake_paystack, paystack, payment_request):
    fake_paystack.delay_next(seconds=0.2, path_contains="/transaction/initialize")
    assert paystack.create_payment(payment_request()).redirect_url.startswith(
        fake_paystack.base_url
    )


def test_initialize_5xx_is_not_retried(fake_paystack, paystack, payment_request, backoff_sleeps):
    fake_paystack.fail_next(1, status=500)
    with pytest.raises(GatewayUnavailable):
        paystack.create_payment(payment_request())
    assert len(fake_paystack.calls("POST", "/transaction/initialize")) == 1
    assert fake_paystack.transactions == {}


def test_a_lost_initialize_answer_is_settled_by_verify(fake_paystack, paystack, payment_request):
    fake_paystack.drop_next(path_contains="/transaction/initialize")
    with pytest.raises(GatewayUnavailable):
        paystack.create_payment(payment_request())
    # The gateway did create it: verify finds it, and the same reference cannot make a second one.
    assert paystack.verify("ORD-1001-a1").status == "abandoned"
    with pytest.raises(GatewayRequestRejected):
        paystack.create_payment(payment_request())


@pytest.mark.parametrize("path", ["/transaction/initialize", "/transaction/verify/"])
def test_malformed_json_is_a_bad_response(fake_paystack, paystack, payment_request, path):
    paystack.create_payment(payment_request("ORD-2-a1"))
    fake_paystack.malformed_next(path_contains=path)
    call = (
        (lambda: paystack.create_payment(payment_request()))
        if path == "/transaction/initialize"
        else (lambda: paystack.verify("ORD-2-a1"))
    )
    with pytest.raises(GatewayBadResponse) as caught:
        call()
    assert (caught.value.code, caught.value.http_status) == ("payment_gateway_bad_response", 502)


def test_full_refund(paystack, fake_paystack, paid):
    result = paystack.refund(paid, None, "Customer changed their mind")

    [call] = fake_paystack.calls("POST", "/refund")
    assert call.json() == {"transaction": paid, "merchant_note": "Customer changed their mind"}
    assert (result.status, result.amount, result.currency) == ("pending", Decimal("123.45"), "NGN")
    assert result.gateway_refund_id == str(next(iter(fake_paystack.refunds)))


def test_partial_refunds_up_to_the_amount_paid(paystack, fake_paystack, paid):
    first = paystack.refund(paid, Decimal("100.00"), "damaged item", currency="NGN")
    assert (first.amount, fake_paystack.calls("POST", "/refund")[0].json()["amount"]) == (
        Decimal("100.00"),
        10000,
    )
    with pytest.raises(GatewayRequestRejected) as caught:
        paystack.refund(paid, Decimal("23.46"), "too much", currency="NGN")
    assert caught.value.message == "Refund amount cannot be greater than transaction amount"
    assert paystack.refund(paid, Decimal("23.45"), "the rest", currency="NGN").amount == Decimal(
        "23.45"
    )


def test_refund_is_never_retried(paystack, fake_paystack, paid, backoff_sleeps):
    fake_paystack.fail_next(1, status=503, path_contains="/refund")
    with pytest.raises(GatewayUnavailable):
        paystack.refund(paid, None, "x")
    assert (len(fake_paystack.calls("POST", "/refund")), backoff_sleeps) == (1, [])


# --- webhooks -------------------------------------------------------------------------------


@pytest.fixture
def delivered(fake_paystack, webhook_sink):
    fake_paystack.webhook_target = webhook_sink.url
    return webhook_sink


def parse(paystack, received):
    [event] = paystack.parse_webhook(received.headers, received.body)
    return event


def test_charge_success_webhook(paystack, fake_paystack, payment_request, delivered):
    paystack.create_payment(payment_request())
    fake_paystack.pay("ORD-1001-a1")

    [received] = delivered.wait_for(1)
    event = parse(paystack, received)
    transaction = fake_paystack.transactions["ORD-1001-a1"]
    assert (event.kind, event.event_type, event.reference) == (
        "charge_succeeded",
        "charge.success",
        "ORD-1001-a1",
    )
    assert (event.amount, event.currency, event.trusted) == (Decimal("123.45"), "NGN", True)
    assert event.event_key == "charge.success:ORD-1001-a1:success"
    assert event.occurred_at == datetime.fromisoformat(transaction["paid_at"]).astimezone(UTC)
    assert event.gateway_ids == {"transaction_id": str(transaction["id"])}


def test_duplicate_deliveries_carry_the_same_event_key(
    paystack, fake_paystack, payment_request, delivered
):
    paystack.create_payment(payment_request())
    webhook = fake_paystack.pay("ORD-1001-a1")
    fake_paystack.deliver(webhook, times=5, concurrently=True)

    received = delivered.wait_for(6)
    assert {r.body for r in received} == {webhook.body}
    assert {parse(paystack, r).event_key for r in received} == {
        "charge.success:ORD-1001-a1:success"
    }


def test_refund_webhooks_in_every_stage(paystack, fake_paystack, delivered, paid):
    paystack.refund(paid, Decimal("50.00"), "partial", currency="NGN")
    refund_id = next(iter(fake_paystack.refunds))
    fake_paystack.settle_refund(refund_id, outcome="processed", with_progress=True)

    events = [parse(paystack, r) for r in delivered.wait_for(4)[1:]]
    assert [(e.event_type, e.kind) for e in events] == [
        ("refund.pending", "unknown"),
        ("refund.processing", "unknown"),
        ("refund.processed", "refund_processed"),
    ]
    processed = events[-1]
    assert (processed.reference, processed.amount, processed.currency) == (
        paid,
        Decimal("50.00"),
        "NGN",
    )
    assert processed.refund.refund_reference == f"RRF_{refund_id}"
    assert processed.event_key == f"refund.processed:RRF_{refund_id}:processed"


def test_refund_failed_webhook_with_a_numeric_amount(paystack, fake_paystack, delivered, paid):
    paystack.refund(paid, None, "full")
    fake_paystack.settle_refund(next(iter(fake_paystack.refunds)), outcome="failed")
    event = parse(paystack, delivered.wait_for(2)[1])
    assert (event.kind, event.amount, event.refund.status) == (
        "refund_failed",
        Decimal("123.45"),
        "failed",
    )


@pytest.mark.parametrize(
    ("resolution", "outcome"), [("declined", "won"), ("merchant-accepted", "lost")]
)
def test_dispute_opened_then_resolved(
    paystack, fake_paystack, delivered, paid, resolution, outcome
):
    dispute_id, _ = fake_paystack.open_dispute(paid, amount=5000)
    fake_paystack.resolve_dispute(dispute_id, resolution=resolution)

    opened, resolved = (parse(paystack, r) for r in delivered.wait_for(3)[1:])
    assert (opened.kind, opened.reference, opened.amount) == (
        "dispute_opened",
        paid,
        Decimal("50.00"),
    )
    assert opened.dispute.status == "open"
    assert opened.dispute.gateway_dispute_id == str(dispute_id)
    assert opened.dispute.reason == "chargeback"
    assert opened.dispute.evidence_due == datetime(2030, 1, 8, 10, 0, tzinfo=UTC)
    assert (resolved.kind, resolved.dispute.status) == ("dispute_resolved", outcome)
    assert opened.event_key != resolved.event_key


def test_out_of_order_delivery(paystack, fake_paystack, delivered, paid):
    fake_paystack.auto_deliver = False
    paystack.refund(paid, None, "full")
    fake_paystack.settle_refund(
        next(iter(fake_paystack.refunds)), outcome="processed", with_progress=True
    )
    fake_paystack.release(reverse=True)

    types = [parse(paystack, r).event_type for r in delivered.wait_for(4)[1:]]
    assert types == ["refund.processed", "refund.processing", "refund.pending"]


def test_unhandled_event_types_are_normalised_as_unknown(paystack, fake_paystack):
    webhook = fake_paystack.emit(
        "transfer.success", {"event": "transfer.success", "data": {"id": 77, "status": "success"}}
    )
    [event] = paystack.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.event_key) == ("unknown", "transfer.success:77:success")


def test_a_signed_body_that_is_not_an_event_is_refused(paystack, fake_paystack):
    webhook = fake_paystack.emit("x", ["not", "an", "event"])
    with pytest.raises(InvalidWebhookPayload):
        paystack.parse_webhook(webhook.headers, webhook.body)


def test_a_successful_answer_missing_fields_is_a_bad_response(paystack, fake_paystack, paid):
    fake_paystack.answer_next(
        body=b'{"status": true, "message": "ok", "data": {"status": "success"}}',
        path_contains="/transaction/verify/",
    )
    with pytest.raises(GatewayBadResponse):
        paystack.verify(paid)


def test_a_verify_answer_for_another_reference_is_a_bad_response(paystack, fake_paystack, paid):
    data = fake_paystack.transaction_data(paid) | {"reference": "SOMEONE-ELSE"}
    fake_paystack.answer_next(
        body=json.dumps({"status": True, "message": "ok", "data": data}).encode(),
        path_contains="/transaction/verify/",
    )
    with pytest.raises(GatewayBadResponse):
        paystack.verify(paid)


def test_the_fake_retries_a_webhook_the_shop_did_not_acknowledge(
    paystack, fake_paystack, payment_request, delivered
):
    delivered.status = 500
    fake_paystack.webhook_retries = 2
    paystack.create_payment(payment_request())
    fake_paystack.pay("ORD-1001-a1")

    assert len(delivered.wait_for(3)) == 3
    assert [d.status_code for d in fake_paystack.deliveries] == [500, 500, 500]
