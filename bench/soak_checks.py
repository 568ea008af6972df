"""The soak's data set and the invariants it checks once the load has stopped and drained.

Run inside the soak process, with Django configured on the soak's own database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

SWEEP_SECONDS = 10  # the soak's beat interval of the expired-lock sweep


@dataclass
class Shop:
    product_ids: list[int]
    initial_stock: dict[int, int]
    customers: list[tuple[str, int]]  # (token, address id)


def build_shop(*, products: int, stock: int, customers: int) -> Shop:
    from django.contrib.auth.hashers import make_password

    from accounts.tokens import issue_token
    from shop.models import Address, Product, User
    from shop.platform_settings import set_setting

    set_setting("checkout.allowed_payment_methods", ["paystack"])
    set_setting("checkout.lock_ttl_minutes", 2)  # locks expire, are swept, payments come late
    rows = Product.objects.bulk_create(
        Product(
            sku=f"SOAK-{i:04d}",
            name=f"Soak product {i}",
            price=Decimal("1500.00"),
            currency="NGN",
            stock=stock,
        )
        for i in range(products)
    )
    password = make_password("soak-password-123")
    users = User.objects.bulk_create(
        User(email=f"soak-{i}@soak.example", password=password) for i in range(customers)
    )
    addresses = Address.objects.bulk_create(
        Address(
            customer=user,
            full_name="Soak Customer",
            phone="+2348031234567",
            line1="1 Loopback Road",
            city="Lagos",
            state="Lagos",
            country="NG",
        )
        for user in users
    )
    return Shop(
        product_ids=[p.pk for p in rows],
        initial_stock={p.pk: stock for p in rows},
        customers=[
            (issue_token(user).token, address.pk)
            for user, address in zip(users, addresses, strict=True)
        ],
    )


def is_drained() -> bool:
    """Every verified webhook processed and every message out of the outbox."""
    from notifications.models import Notification
    from payments.models import WebhookEvent

    pending_webhooks = WebhookEvent.objects.filter(
        signature_valid=True, processed_at__isnull=True, dead_at__isnull=True
    ).exists()
    return not pending_webhooks and not Notification.objects.exclude(status="sent").exists()


@dataclass
class Verdict:
    figures: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)


def check_invariants(shop: Shop, *, emails_received: int) -> Verdict:
    from django.db.models import Count, F, Q, Sum
    from django.utils import timezone

    from inventory.models import InventoryLock, StockMovement
    from notifications.models import Notification
    from orders.models import Order, OrderEvent, OrderItem
    from payments.models import Payment, WebhookEvent
    from shop.models import Product

    verdict = Verdict()
    on_hand = dict(Product.objects.filter(pk__in=shop.product_ids).values_list("pk", "stock"))
    sold_rows = (
        OrderItem.objects.filter(order__stock_deducted=True)
        .values("product_id")
        .annotate(units=Sum(F("quantity") - F("quantity_restocked")))
    )
    sold = {row["product_id"]: row["units"] for row in sold_rows}
    moved = dict(
        StockMovement.objects.values("product_id")
        .annotate(total=Sum("delta"))
        .values_list("product_id", "total")
    )
    for pid, initial in shop.initial_stock.items():
        verdict.check(
            on_hand[pid] + sold.get(pid, 0) == initial,
            f"product {pid}: {on_hand[pid]} on hand + {sold.get(pid, 0)} sold != {initial}",
        )
        verdict.check(
            initial + moved.get(pid, 0) == on_hand[pid],
            f"product {pid}: the ledger's deltas do not add up to its stock",
        )
        verdict.check(on_hand[pid] >= 0, f"product {pid}: negative stock")
    holding = set(Order.objects.filter(state="pending_payment").values_list("number", flat=True))
    orphans = InventoryLock.objects.exclude(owner__in=holding).count()
    unswept = InventoryLock.objects.filter(
        expires_at__lt=timezone.now() - timedelta(seconds=SWEEP_SECONDS + 60)
    ).count()
    verdict.check(orphans == 0, f"{orphans} stock locks of orders that hold no stock")
    verdict.check(unswept == 0, f"{unswept} expired locks left unswept")
    paid = Order.objects.filter(state="paid").annotate(
        successes=Count("payments", filter=Q(payments__status="succeeded"))
    )
    wrong = [o.number for o in paid if o.successes != 1]
    verdict.check(not wrong, f"paid orders without exactly one successful payment: {wrong[:5]}")
    twice = Payment.objects.values("order_id").annotate(n=Count("pk", filter=Q(status="succeeded")))
    verdict.check(not twice.filter(n__gt=1).exists(), "an order with two successful payments")
    paid_events = OrderEvent.objects.filter(kind="paid").values("order_id").annotate(n=Count("pk"))
    verdict.check(not paid_events.filter(n__gt=1).exists(), "an order paid twice in its timeline")
    valid = WebhookEvent.objects.filter(signature_valid=True)
    unprocessed = valid.filter(processed_at__isnull=True).count()
    verdict.check(unprocessed == 0, f"{unprocessed} verified webhooks never processed")
    notifications = Notification.objects.all()
    unsent = notifications.exclude(status="sent").count()
    email_sent = notifications.filter(status="sent", channel="email").count()
    verdict.check(unsent == 0, f"{unsent} messages not sent")
    verdict.check(
        emails_received == email_sent,
        f"{emails_received} emails received for {email_sent} sent messages",
    )
    verdict.figures = {
        "orders": Order.objects.count(),
        "orders paid": paid.count(),
        "paid, flagged out of stock after payment": Order.objects.filter(
            state="paid", stock_deducted=False
        ).count(),
        "units sold": sum(sold.values()),
        "units on hand": sum(on_hand.values()),
        "live stock locks": InventoryLock.objects.count(),
        "webhook events stored": valid.count(),
        "messages sent": notifications.count(),
        "emails received": emails_received,
        "messages that needed a second attempt": notifications.filter(attempts__gt=1).count(),
    }
    return verdict
