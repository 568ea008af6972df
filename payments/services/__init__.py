"""Payment services. Import from here: ``from payments.services import issue_refund``."""

from payments.services.events import Deferred, apply_gateway_event, event_from_verify
from payments.services.refund_settlement import (
    reconcile_pending_refunds,
    settle_refund,
)
from payments.services.refunds import (
    IssuedRefund,
    issue_refund,
    refundable_amount,
    request_refund,
)
from payments.services.start import (
    close_open_attempts,
    current_payment_object,
    require_online_payment_method,
    start_payment,
)
from payments.services.unapplied import record_unapplied_payment, unapplied_payments
from payments.services.webhooks import (
    enqueue,
    process_webhook_event,
    receive_webhook,
    redrive_stuck_webhooks,
    store_polled_events,
    sync_payment_with_gateway,
    verify_payment,
)

__all__ = [
    "Deferred",
    "IssuedRefund",
    "apply_gateway_event",
    "close_open_attempts",
    "current_payment_object",
    "enqueue",
    "event_from_verify",
    "issue_refund",
    "process_webhook_event",
    "receive_webhook",
    "reconcile_pending_refunds",
    "record_unapplied_payment",
    "redrive_stuck_webhooks",
    "refundable_amount",
    "request_refund",
    "require_online_payment_method",
    "settle_refund",
    "start_payment",
    "store_polled_events",
    "sync_payment_with_gateway",
    "unapplied_payments",
    "verify_payment",
]
