"""Order operations. Import from here: ``from orders.services import mark_paid``."""

from orders.errors import PaymentMismatch
from orders.services._base import allowed_targets, lock_order, refuse
from orders.services.lifecycle import (
    archive_order,
    cancel_order,
    expire_order,
    expire_overdue_orders,
    flag_order,
    mark_delivered,
    mark_in_transit,
    mark_ready_for_shipment,
    mark_shipped,
    open_dispute,
    resolve_dispute,
    start_processing,
)
from orders.services.maintenance import archivable_orders, archive_finished_orders
from orders.services.payment import (
    accept_cash_on_delivery,
    hold_stock_until,
    mark_paid,
    mark_payment_failed,
    open_payment_window,
    record_cash_collected,
    retry_payment,
)
from orders.services.refunds import (
    book_refund,
    hold_refund,
    record_unapplied_refund,
    refund_order,
    refund_refusal,
    refund_value_of_units,
    refundable_balance,
    release_refund,
)

__all__ = [
    "PaymentMismatch",
    "accept_cash_on_delivery",
    "allowed_targets",
    "archivable_orders",
    "archive_finished_orders",
    "archive_order",
    "book_refund",
    "cancel_order",
    "expire_order",
    "expire_overdue_orders",
    "flag_order",
    "hold_refund",
    "hold_stock_until",
    "lock_order",
    "mark_delivered",
    "mark_in_transit",
    "mark_paid",
    "mark_payment_failed",
    "mark_ready_for_shipment",
    "mark_shipped",
    "open_dispute",
    "open_payment_window",
    "record_cash_collected",
    "record_unapplied_refund",
    "refund_order",
    "refund_refusal",
    "refund_value_of_units",
    "refundable_balance",
    "refuse",
    "release_refund",
    "resolve_dispute",
    "retry_payment",
    "start_processing",
]
