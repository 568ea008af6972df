"""Refusals of the payment services (provider errors live in payments.providers.errors)."""

from core.errors import DomainError


class WebhookPayloadTooLarge(DomainError):
    """A webhook body above WEBHOOK_MAX_BODY_BYTES: no gateway sends one; nothing is stored."""

    code = "payload_too_large"
    http_status = 413
    message = "The request body is too large."


class OrderNotPayable(DomainError):
    code = "order_not_payable"
    http_status = 409
    message = "This order cannot be paid now."


class PaymentStartFailed(DomainError):
    """The gateway could not open a payment; the order is kept with its stock for a retry."""

    code = "payment_gateway_unavailable"
    http_status = 502
    message = "The payment gateway is unavailable. Your order is kept: try paying again shortly."


class RefundNotAllowed(DomainError):
    code = "refund_not_allowed"
    http_status = 409
    message = "This order cannot be refunded now."


class RefundExceedsRefundable(DomainError):
    code = "refund_exceeds_refundable"
    http_status = 409
    message = "The refund is larger than what is left to refund."


class RefundHeldByDispute(DomainError):
    code = "refund_held_dispute_open"
    http_status = 409
    message = "Refunds are held while a dispute on this order is open."


class PaymentNotFound(DomainError):
    code = "payment_not_found"
    http_status = 404
    message = "Payment not found."
