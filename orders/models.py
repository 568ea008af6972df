from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import GET_STATE, ConcurrentTransitionMixin, FSMField, transition

from orders.states import DISPUTABLE_STATES, UNPAID_STATES, ActorType, OrderState, PaymentStatus
from shop.models import MONEY, Product, currency_code_validator
from shop.pricing import AdjustmentKind

S = OrderState

COD = "cod"


class Order(ConcurrentTransitionMixin, models.Model):
    """A placed order. ``state`` changes only through the transition methods below, and those
    are called only by ``orders.services`` (which lock the row and write the audit event).

    The transitions are pure: they change the state and the fields that travel with it
    (payment_status, timestamps), never stock, money or other rows.
    """

    number = models.CharField(max_length=20, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,  # order_customer_recent (customer, -created_at) serves it
    )
    state = FSMField(default=S.PENDING_PAYMENT, choices=S.choices, protected=True)
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.NOT_PAID
    )
    payment_method = models.CharField(max_length=32)
    currency = models.CharField(max_length=3, validators=[currency_code_validator])
    subtotal = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY, default=Decimal("0.00"))
    discount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    total = models.DecimalField(**MONEY)
    amount_refunded = models.DecimalField(**MONEY, default=Decimal("0.00"))
    refund_pending = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        help_text="Refunds sent to the gateway and not yet confirmed (held against the total).",
    )
    shipping_address = models.JSONField(help_text="Snapshot taken at checkout.")
    note = models.TextField(blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    needs_attention = models.BooleanField(default=False)
    attention_reason = models.CharField(max_length=200, blank=True)
    stock_deducted = models.BooleanField(
        default=False, help_text="The items' units were taken off stock (paid or COD accepted)."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="An unpaid order is cancelled as expired after this."
    )
    state_before_dispute = models.CharField(max_length=50, blank=True, choices=S.choices)
    payment_status_before_dispute = models.CharField(
        max_length=20, blank=True, choices=PaymentStatus.choices
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Staff actions beyond view/change (backoffice.permissions; groups in migration 0004).
        permissions = [
            ("fulfil_order", "Can move orders through fulfilment"),
            ("cancel_unpaid_order", "Can cancel unpaid orders"),
            ("refund_order", "Can refund orders (and cancel paid ones)"),
            ("confirm_bank_transfer", "Can confirm bank transfers"),
            ("record_cash_collected", "Can record cash collected on delivery"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("shipping") - F("discount")),
                name="order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, shipping__gte=0, discount__gte=0, total__gte=0),
                name="order_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("total")),
                name="order_refunds_within_total",
            ),
            models.CheckConstraint(
                condition=Q(refund_pending__gte=0, refund_pending__lte=F("total")),
                name="order_refund_pending_within_total",
            ),
            models.CheckConstraint(condition=Q(state__in=S.values), name="order_state_valid"),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values),
                name="order_payment_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="order_customer_recent"),
            models.Index(fields=["state", "expires_at"], name="order_state_expires"),
            # Checkout counts a customer's open unpaid orders (the per-customer cap): only
            # those rows are indexed, so the count never walks a long order history.
            models.Index(
                fields=["customer"],
                condition=Q(state__in=UNPAID_STATES),
                name="order_customer_unpaid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_cash_on_delivery(self) -> bool:
        return self.payment_method == COD

    def _is_cash_on_delivery(self) -> bool:
        return self.is_cash_on_delivery

    # --- payment -----------------------------------------------------------------------------
    @transition(field=state, source=list(UNPAID_STATES), target=S.PAID)
    def mark_paid(self) -> None:
        self.payment_status = PaymentStatus.PAID
        self.paid_at = timezone.now()
        self.expires_at = None

    @transition(field=state, source=S.PENDING_PAYMENT, target=S.PAYMENT_FAILED)
    def mark_payment_failed(self) -> None:
        self.payment_status = PaymentStatus.NOT_PAID

    @transition(field=state, source=S.PAYMENT_FAILED, target=S.PENDING_PAYMENT)
    def retry_payment(self) -> None:
        self.payment_status = PaymentStatus.PENDING

    @transition(
        field=state,
        source=S.PENDING_PAYMENT,
        target=S.PROCESSING,
        conditions=[_is_cash_on_delivery],
    )
    def accept_cash_on_delivery(self) -> None:
        self.expires_at = None

    # --- cancellation ------------------------------------------------------------------------
    @transition(field=state, source=list(UNPAID_STATES), target=S.CANCELLED)
    def cancel_unpaid(self) -> None:
        self.expires_at = None

    @transition(
        field=state, source=[S.PAID, S.PROCESSING, S.READY_FOR_SHIPMENT], target=S.CANCELLED
    )
    def cancel_paid(self) -> None:
        """Cancelled after payment (or after COD acceptance): the money goes back by refund."""

    @transition(
        field=state,
        source=[S.SHIPPED, S.IN_TRANSIT],
        target=S.CANCELLED,
        conditions=[_is_cash_on_delivery],
    )
    def cancel_refused_delivery(self) -> None:
        """Cash on delivery refused at the door: nothing was paid, the parcel comes back."""

    # --- fulfilment --------------------------------------------------------------------------
    @transition(field=state, source=S.PAID, target=S.PROCESSING)
    def start_processing(self) -> None:
        pass

    @transition(field=state, source=S.PROCESSING, target=S.READY_FOR_SHIPMENT)
    def mark_ready_for_shipment(self) -> None:
        pass

    @transition(field=state, source=S.READY_FOR_SHIPMENT, target=S.SHIPPED)
    def mark_shipped(self, *, tracking_number: str, carrier: str) -> None:
        self.tracking_number = tracking_number
        self.carrier = carrier

    @transition(field=state, source=S.SHIPPED, target=S.IN_TRANSIT)
    def mark_in_transit(self) -> None:
        pass

    @transition(field=state, source=[S.SHIPPED, S.IN_TRANSIT], target=S.DELIVERED)
    def mark_delivered(self) -> None:
        pass

    # --- refunds and disputes ----------------------------------------------------------------
    @transition(
        field=state,
        source=[S.PAID, S.DELIVERED, S.PARTIALLY_REFUNDED],
        target=S.PARTIALLY_REFUNDED,
    )
    def refund_partially(self) -> None:
        self.payment_status = PaymentStatus.PARTIALLY_REFUNDED

    @transition(field=state, source=[S.PAID, S.DELIVERED, S.PARTIALLY_REFUNDED], target=S.REFUNDED)
    def refund_fully(self) -> None:
        self.payment_status = PaymentStatus.REFUNDED

    @transition(field=state, source=list(DISPUTABLE_STATES), target=S.DISPUTED)
    def open_dispute(self) -> None:
        self.state_before_dispute = self.state
        self.payment_status_before_dispute = self.payment_status
        self.payment_status = PaymentStatus.DISPUTED

    def _state_before_dispute(self) -> str:
        return self.state_before_dispute

    @transition(
        field=state,
        source=S.DISPUTED,
        target=GET_STATE(_state_before_dispute, states=list(DISPUTABLE_STATES)),
    )
    def win_dispute(self) -> None:
        self.payment_status = self.payment_status_before_dispute or PaymentStatus.PAID

    @transition(field=state, source=S.DISPUTED, target=S.REFUNDED)
    def lose_dispute(self) -> None:
        self.payment_status = PaymentStatus.REFUNDED

    # --- end of life -------------------------------------------------------------------------
    @transition(
        field=state,
        source=[S.DELIVERED, S.PARTIALLY_REFUNDED, S.CANCELLED, S.REFUNDED],
        target=S.ARCHIVED,
    )
    def archive(self) -> None:
        pass


class OrderItem(models.Model):
    """A line as it was bought: sku, name and price are copies, not references."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(**MONEY)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(**MONEY)
    quantity_restocked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_item_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_item_unit_price_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(line_total=F("unit_price") * F("quantity")),
                name="order_item_line_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(quantity_restocked__lte=F("quantity")),
                name="order_item_restock_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderAdjustment(models.Model):
    """An amount of the order that its lines do not explain, as priced at checkout
    (``shop.pricing``): a shipping fee, a discount… ``Order.shipping`` and ``Order.discount`` are
    the sums of the charges and the reductions."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="adjustments")
    kind = models.CharField(max_length=32, choices=AdjustmentKind.choices)
    label = models.CharField(max_length=200)
    code = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(**MONEY, help_text="Positive; its kind says on which side.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="order_adjustment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AdjustmentKind.values), name="order_adjustment_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class AppendOnlyError(Exception):
    pass


class OrderEvent(models.Model):
    """The audit log: one row per transition and per money or stock movement. Append-only:
    the model refuses updates and deletes, and on PostgreSQL a trigger refuses them too."""

    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # order_event_order_time (order, created_at) serves it
    )
    kind = models.CharField(max_length=50)
    from_state = models.CharField(max_length=50, blank=True)
    to_state = models.CharField(max_length=50, blank=True)
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # the log is never rewritten, so its actors stay
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="order_event_order_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_type__in=ActorType.values), name="order_event_actor_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.from_state}->{self.to_state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Order events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Order events are append-only.")


class IdempotencyKey(models.Model):
    """One checkout request per (customer, scope, key): the row is written, completed with the
    response, in the same transaction that creates the order (``orders.idempotency``)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique (customer, scope, key) serves it
    )
    scope = models.CharField(
        max_length=50, default="checkout", help_text="The endpoint the key belongs to."
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the canonical JSON body")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "scope", "key"], name="idempotency_key_unique_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.key}"
