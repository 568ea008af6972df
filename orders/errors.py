from core.errors import DomainError


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409
    message = "The order cannot make this change in its current state."


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    http_status = 409
    message = "Only unpaid orders can be cancelled by the customer."


class CartEmpty(DomainError):
    code = "cart_empty"
    http_status = 400
    message = "The cart is empty."


class PriceChanged(DomainError):
    code = "price_changed"
    http_status = 409
    message = "Prices changed since the cart was shown; review the new total."


class CartChanged(DomainError):
    code = "cart_changed"
    http_status = 409
    message = (
        "The cart changed while the order was being placed (another checkout or an edit); "
        "review the cart and check out again."
    )


class TooManyUnpaidOrders(DomainError):
    code = "too_many_unpaid_orders"
    http_status = 409
    message = "You have too many unpaid orders; pay or cancel one before placing another."


class PaymentMethodNotAllowed(DomainError):
    code = "payment_method_not_allowed"
    http_status = 400
    message = "This payment method is not available."


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    http_status = 400
    message = "Send an Idempotency-Key header (a unique value per checkout attempt)."


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    http_status = 400
    message = "The Idempotency-Key must be 1 to 255 visible ASCII characters."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422
    message = "This Idempotency-Key was used with a different request body."


class RequestInProgress(DomainError):
    code = "request_in_progress"
    http_status = 409
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class RefundInvalid(DomainError):
    code = "refund_invalid"
    http_status = 409
    message = "The refund does not match the order."


class RefundPending(DomainError):
    code = "refund_pending"
    http_status = 409
    message = (
        "Everything paid for this order is being refunded: it cannot be prepared or shipped. "
        "Cancel it, or wait for the refund to settle."
    )


class PaymentMismatch(DomainError):
    code = "payment_mismatch"
    http_status = 409
    message = "The payment's amount or currency does not match the order."


# --- staff actions (issue 6) -----------------------------------------------------------------
class ReasonRequired(DomainError):
    code = "reason_required"
    http_status = 400
    message = "Give a reason for this action; it goes into the order's timeline."


class TrackingRequired(DomainError):
    code = "tracking_required"
    http_status = 400
    message = "Shipping an order needs a tracking number and a carrier."


class StatusChangeNotSupported(DomainError):
    code = "status_change_not_supported"
    http_status = 400
    message = "This status is reached through its own action (cancel, refund, COD, payment)."


class WrongPaymentMethod(DomainError):
    code = "wrong_payment_method"
    http_status = 409
    message = "This action does not apply to the order's payment method."


class TransferAmountMismatch(DomainError):
    code = "transfer_amount_mismatch"
    http_status = 409
    message = (
        "The transfer does not cover the order total in its currency; confirm a bank transfer "
        "only once the full amount has arrived (partial transfers are not accepted)."
    )
