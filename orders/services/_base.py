"""Shared machinery of the order services: lock the row, run the transition, log it."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.db import transaction
from django_fsm import can_proceed

from core.errors import NotFound
from orders.errors import InvalidTransition
from orders.events import record_event
from orders.models import Order, OrderItem
from orders.payment_methods import payment_method_or_none


def lock_order(order_id: int) -> Order:
    """The order row, locked until the surrounding transaction ends."""
    try:
        return Order.objects.select_for_update(of=("self",)).get(pk=order_id)
    except Order.DoesNotExist:
        raise NotFound("Order not found.", details={"order_id": order_id}) from None


def allowed_targets(order: Order) -> list[str]:
    targets = set()
    for transition in order.get_available_state_transitions():
        target = transition.target
        targets.add(target if isinstance(target, str) else order.state_before_dispute)
    return sorted(t for t in targets if t)


def _declared_target(order: Order, method_name: str) -> str:
    meta = getattr(type(order), method_name)._django_fsm
    targets = {t.target for t in meta.transitions.values()}
    target = next(iter(targets))
    if isinstance(target, str):
        return target
    return order.state_before_dispute or "state_before_dispute"


def refuse(order: Order, target: str) -> InvalidTransition:
    source, target = str(order.state), str(target)  # plain values, not TextChoices members
    return InvalidTransition(
        f"An order in state '{source}' cannot move to '{target}'.",
        details={"from": source, "to": target, "allowed": allowed_targets(order)},
    )


def apply_transition(order: Order, method_name: str, **kwargs: Any) -> str:
    """Run the named transition on the locked order (in memory); returns the previous state.

    Raises ``InvalidTransition`` (409) when the state machine refuses, before any change.
    """
    method = getattr(order, method_name)
    if not can_proceed(method):
        raise refuse(order, _declared_target(order, method_name))
    from_state = order.state
    method(**kwargs)
    return from_state


def transition_and_log(
    order: Order,
    method_name: str,
    *,
    kind: str,
    actor_type: str,
    actor: Any,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Order:
    from_state = apply_transition(order, method_name, **kwargs)
    return save_and_log(
        order,
        from_state=from_state,
        kind=kind,
        actor_type=actor_type,
        actor=actor,
        reason=reason,
        payload=payload,
    )


def order_lines(order: Order) -> dict[int, int]:
    """{product_id: quantity} of the order's items."""
    lines: dict[int, int] = {}
    for product_id, quantity in OrderItem.objects.filter(
        order=order, product__isnull=False
    ).values_list("product_id", "quantity"):
        lines[product_id] = lines.get(product_id, 0) + quantity
    return lines


def close_payment_pages_after_commit(order: Order) -> None:
    """An unpaid order that ends must not stay payable at the gateway (where it allows it)."""
    method = payment_method_or_none(order.payment_method)
    if method is not None and method.close_attempts_after_commit is not None:
        transaction.on_commit(partial(method.close_attempts_after_commit, order.pk))


def save_and_log(
    order: Order,
    *,
    from_state: str,
    kind: str,
    actor_type: str,
    actor: Any,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    order.save()
    record_event(
        order=order,
        kind=kind,
        from_state=from_state,
        actor_type=actor_type,
        actor=actor,
        reason=reason,
        payload=dict(payload or {}),
    )
    return order
