"""Typed failures of the payment gateways, rendered by the API like every other DomainError."""

from core.errors import DomainError


class PaymentError(DomainError):
    code = "payment_error"
    http_status = 502
    message = "The payment could not be processed."


class PaymentDeclined(PaymentError):
    code = "payment_declined"
    http_status = 402
    message = "The payment was declined."


class GatewayUnavailable(PaymentError):
    """Timeout, connection failure or 5xx (after the retries a safe call is allowed)."""

    code = "payment_gateway_unavailable"
    http_status = 502
    message = "The payment gateway is not answering. Please try again shortly."


class GatewayOutcomeUnknown(GatewayUnavailable):
    """A request that changes money was sent, and its answer was lost: a read timeout, a reset
    connection, a 5xx or an unreadable 2xx. The gateway may or may not have acted, so this is
    never a failure: the caller keeps the operation pending and settles it by asking later."""

    code = "payment_gateway_outcome_unknown"
    message = "The payment gateway did not confirm the request; it may have been carried out."


class GatewayBadResponse(PaymentError):
    """The gateway answered, but not in a shape we understand (malformed JSON, missing fields)."""

    code = "payment_gateway_bad_response"
    http_status = 502
    message = "The payment gateway gave an unexpected answer."


class GatewayRequestRejected(PaymentError):
    """The gateway refused our request (4xx: bad key, duplicate reference, refund too large)."""

    code = "payment_gateway_rejected"
    http_status = 502
    message = "The payment gateway refused the request."


class PaymentNotFound(PaymentError):
    code = "payment_not_found_at_gateway"
    http_status = 404
    message = "The gateway has no payment with this reference."


class UnsupportedCurrency(PaymentError):
    code = "unsupported_currency"
    http_status = 400
    message = "This currency cannot be paid with this payment method."


class AmountNotRepresentable(PaymentError):
    code = "amount_not_representable"
    http_status = 400
    message = "The amount has more decimal places than the currency allows."


class InvalidSignature(PaymentError):
    code = "invalid_signature"
    http_status = 401
    message = "The webhook signature is missing or invalid."


class InvalidWebhookPayload(PaymentError):
    """Correctly signed, but not JSON of the expected shape."""

    code = "invalid_webhook_payload"
    http_status = 400
    message = "The webhook body could not be read."


class UnknownPaymentProvider(PaymentError):
    code = "unknown_payment_method"
    http_status = 400
    message = "This payment method is not available."


class PaymentMethodNotConfigured(PaymentError):
    """The method exists but its keys are missing from the environment (an operator mistake)."""

    code = "payment_method_unavailable"
    http_status = 503
    message = "This payment method is not available right now."
