"""Payment attempts, refunds, disputes and the raw webhook log.

Every money invariant is also a database constraint. Raw gateway answers are stored only after
``payments.redaction.redact`` kept the allow-listed fields (no card numbers, CVV, auth codes).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from shop.models import MONEY

# A refused (badly signed) webhook body is kept only this far (payments.webhook_bodies).
REFUSED_BODY_PREFIX_BYTES = 4096


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Created"  # row written, gateway not asked yet
    PENDING = "pending", "Pending"  # the gateway has a session; the customer may pay
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"
    CANCELLED = "cancelled", "Cancelled"


class Payment(models.Model):
    """One attempt to collect an order's money; a retry is a new Payment with a new reference."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=32)
    reference = models.CharField(max_length=64, unique=True)
    attempt = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    redirect_url = models.CharField(max_length=1000, blank=True)
    gateway_ids = models.JSONField(default=dict, blank=True)
    raw_responses = models.JSONField(default=list, blank=True, help_text="Redacted.")
    failure_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Gateway time of the event that set the status."
    )
    applied = models.BooleanField(
        default=False,
        help_text="This payment paid the order. A succeeded payment that is not applied is "
        "money without an order to pay for (paid after cancellation, or paid twice): staff "
        "refund it.",
    )
    amount_refunded = models.DecimalField(
        **MONEY, default=Decimal("0.00"), help_text="Refunds of this payment, processed."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(applied=False) | Q(status="succeeded"),
                name="payment_applied_only_if_succeeded",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payment_currency_iso"
            ),
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_order_attempt"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.gateway}, {self.status})"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class RefundOrigin(models.TextChoices):
    STAFF = "staff", "Staff"  # the staff API or the admin
    SYSTEM = "system", "System"  # an automatic refund (paid after the stock ran out)
    GATEWAY = "gateway", "Gateway"  # made in the gateway's dashboard, learnt from its webhook


# A refund's key is stored with it and sent to the gateway as its own idempotency key.
REFUND_KEY_MAX_LENGTH = 64


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300, blank=True, help_text="Internal: staff only.")
    customer_message = models.CharField(
        max_length=500, blank=True, help_text="What the customer's refund message says."
    )
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    origin = models.CharField(
        max_length=16, choices=RefundOrigin.choices, default=RefundOrigin.STAFF
    )
    manual = models.BooleanField(default=False, help_text="Paid back by hand (bank/COD).")
    gateway_refund_id = models.CharField(max_length=100, blank=True)
    outcome_unknown = models.BooleanField(
        default=False,
        help_text="The gateway's answer was lost: the refund waits for its webhook or for "
        "reconciliation to learn what the gateway did.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lines = models.JSONField(
        default=dict, blank=True, help_text="{order item id: units} this refund pays back."
    )
    restock_lines = models.JSONField(
        default=dict, blank=True, help_text="{order item id: units} restocked when processed."
    )
    idempotency_key = models.CharField(max_length=REFUND_KEY_MAX_LENGTH, unique=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the staff request that made it."
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(
        null=True, blank=True, help_text="The first answer, replayed to a repeated request."
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    raw_responses = models.JSONField(default=list, blank=True, help_text="Redacted.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When reconciliation last asked the gateway."
    )
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the order was flagged for this unsettled refund."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=RefundStatus.values), name="refund_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(origin__in=RefundOrigin.values), name="refund_origin_valid"
            ),
            models.UniqueConstraint(
                fields=["payment", "gateway_refund_id"],
                condition=~Q(gateway_refund_id=""),
                name="refund_gateway_id_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="refund_pending"
            )
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} of {self.payment.reference} ({self.status})"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Dispute(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="disputes")
    gateway = models.CharField(max_length=32)
    gateway_dispute_id = models.CharField(max_length=100)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    evidence_due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=8, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_dispute_id"], name="dispute_unique_per_gateway"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=Decimal("0")),
                name="dispute_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DisputeStatus.values), name="dispute_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.gateway_dispute_id} ({self.status})"


class WebhookEvent(models.Model):
    """Every webhook as received (also the refused ones, for audit).

    ``raw_body`` is the redacted copy (``payments.webhook_bodies``): processing reads the
    normalised ``event``. A refused body keeps only a bounded prefix, with the length and
    SHA-256 of what arrived.
    """

    gateway = models.CharField(max_length=32)
    event_key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    raw_body = models.TextField(help_text="Redacted; only a prefix when refused.")
    body_length = models.PositiveIntegerField(
        null=True, blank=True, help_text="Bytes received (empty on rows stored before it was kept)."
    )
    body_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 (hex) of the bytes received."
    )
    headers = models.JSONField(default=dict, blank=True)
    signature_valid = models.BooleanField()
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When processing was last tried (the re-drive's order)."
    )
    dead_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Failed ops.webhook_max_attempts times with an error that retrying does not "
        "fix: no longer re-driven. Replay it from the list once the cause is fixed.",
    )
    last_error = models.TextField(blank=True)
    kind = models.CharField(max_length=32, blank=True, help_text="Normalised event kind.")
    event = models.JSONField(
        default=dict, blank=True, help_text="The normalised event, processed from here."
    )
    outcome = models.CharField(max_length=100, blank=True, help_text="What processing did.")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )

    class Meta:
        ordering = ["-received_at"]
        permissions = [("replay_webhookevent", "Can replay unprocessed webhook events")]
        constraints = [
            # Refused webhooks get a synthetic key, so only verified events can collide.
            models.UniqueConstraint(fields=["gateway", "event_key"], name="webhook_event_unique"),
            models.CheckConstraint(
                condition=Q(signature_valid=True)
                | Q(LessThanOrEqual(Length("raw_body"), REFUSED_BODY_PREFIX_BYTES)),
                name="webhook_refused_body_bounded",
            ),
            models.CheckConstraint(
                condition=Q(body_sha256="") | Q(body_sha256__regex=r"^[0-9a-f]{64}$"),
                name="webhook_body_sha256_hex",
            ),
            models.CheckConstraint(
                condition=Q(dead_at__isnull=True)
                | Q(processed_at__isnull=True, signature_valid=True),
                name="webhook_dead_is_unprocessed",
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True, signature_valid=True),
                name="webhook_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type} {self.event_key}"
