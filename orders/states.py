"""Order states, payment statuses and the choices the models and API share."""

from django.db import models


class OrderState(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    PAID = "paid", "Paid"
    PROCESSING = "processing", "Processing"
    READY_FOR_SHIPMENT = "ready_for_shipment", "Ready for shipment"
    SHIPPED = "shipped", "Shipped"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    ARCHIVED = "archived", "Archived"


class PaymentStatus(models.TextChoices):
    NOT_PAID = "not_paid", "Not paid"
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"


class ActorType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"
    GATEWAY = "gateway", "Payment gateway"
    SYSTEM = "system", "System"


S = OrderState

UNPAID_STATES = (S.PENDING_PAYMENT, S.PAYMENT_FAILED)
# States a dispute can be opened from, and so the states a won dispute returns to.
DISPUTABLE_STATES = (
    S.PAID,
    S.PROCESSING,
    S.READY_FOR_SHIPMENT,
    S.SHIPPED,
    S.IN_TRANSIT,
    S.DELIVERED,
    S.PARTIALLY_REFUNDED,
)
