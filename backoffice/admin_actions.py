"""The order page's actions (admin): when each button shows, who may use it, its form and the
staff service it calls. ``OrderAdmin.action_view`` serves them and enforces both the permission
and the availability on every request, not only when drawing the button."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms

from backoffice import admin_forms
from backoffice import permissions as perms
from backoffice import services as staff
from orders import idempotency
from orders.models import COD, Order
from orders.payment_methods import BANK_TRANSFER
from orders.states import UNPAID_STATES, OrderState, PaymentStatus
from payments.models import RefundStatus

S = OrderState


@dataclass(frozen=True)
class OrderAction:
    """One button of the order page: when it shows, who may use it, its form, its service."""

    slug: str
    label: str
    form: type[forms.Form]
    permission: Callable[[Order], str]
    available: Callable[[Order], bool]
    run: Callable[[Order, dict[str, Any], Any], Order | str]  # str: the message to show
    button_class: str = ""


def _cancel_permission(order: Order) -> str:
    return perms.REFUND if staff.cancel_needs_refund(order) else perms.CANCEL_UNPAID


def _status_action(target: str) -> OrderAction:
    return OrderAction(
        slug=f"status-{target}",
        label=f"Mark {S(target).label.lower()}",
        form=admin_forms.ShipForm if target == S.SHIPPED else admin_forms.OptionalReasonForm,
        permission=lambda order: perms.FULFIL,
        available=lambda order: target in staff.status_targets(order),
        run=lambda order, data, user: staff.update_order_status(
            order_id=order.pk,
            to_state=target,
            actor=user,
            reason=data["reason"],
            tracking_number=data.get("tracking_number"),
            carrier=data.get("carrier"),
        ),
    )


ACTIONS: dict[str, OrderAction] = {
    action.slug: action
    for action in [
        *(_status_action(target) for target in staff.STATUS_TARGETS),
        OrderAction(
            slug="confirm-bank-transfer",
            label="Confirm bank transfer",
            form=admin_forms.BankTransferForm,
            permission=lambda order: perms.CONFIRM_BANK_TRANSFER,
            available=lambda o: o.payment_method == BANK_TRANSFER and o.state in UNPAID_STATES,
            run=lambda order, data, user: staff.confirm_bank_transfer(
                order_id=order.pk,
                amount=data["amount"],
                reference=data["reference"],
                actor=user,
                reason=data["reason"],
            ),
        ),
        OrderAction(
            slug="accept-cod",
            label="Accept cash-on-delivery order",
            form=admin_forms.OptionalReasonForm,
            permission=lambda order: perms.FULFIL,
            available=lambda o: o.payment_method == COD and o.state == S.PENDING_PAYMENT,
            run=lambda order, data, user: staff.accept_cod_order(
                order_id=order.pk, actor=user, reason=data["reason"]
            ),
        ),
        OrderAction(
            slug="cash-collected",
            label="Record cash collected",
            form=admin_forms.CashCollectedForm,
            permission=lambda order: perms.RECORD_CASH,
            available=lambda o: (
                o.payment_method == COD
                and o.payment_status == PaymentStatus.PENDING
                and o.state in staff.COD_COLLECTABLE_STATES
            ),
            run=lambda order, data, user: staff.mark_cash_collected(
                order_id=order.pk, amount=data["amount"], actor=user, reason=data["reason"]
            ),
        ),
        OrderAction(
            slug="delivery-refused",
            label="Delivery refused",
            form=admin_forms.ReasonForm,
            permission=lambda order: perms.FULFIL,
            available=lambda o: (
                o.payment_method == COD
                and o.state in (S.SHIPPED, S.IN_TRANSIT)
                and o.payment_status != PaymentStatus.PAID
            ),
            run=lambda order, data, user: staff.mark_delivery_refused(
                order_id=order.pk, actor=user, reason=data["reason"]
            ),
            button_class="deletelink",
        ),
        OrderAction(
            slug="refund",
            label="Refund",
            form=admin_forms.RefundForm,
            permission=lambda order: perms.REFUND,
            available=staff.can_refund,
            run=lambda order, data, user: _refund_from_admin(order, data, user),
        ),
        OrderAction(
            slug="cancel",
            label="Cancel order",
            form=admin_forms.CancelForm,
            permission=_cancel_permission,
            available=lambda o: o.state in staff.CANCELLABLE_BY_STAFF,
            run=lambda order, data, user: staff.cancel_order(
                order_id=order.pk,
                actor=user,
                reason=data["reason"],
                allow_refund=perms.has_staff_permission(user, perms.REFUND),
                customer_message=data["customer_message"],
            ),
            button_class="deletelink",
        ),
    ]
}


_REFUND_OUTCOMES: dict[str, str] = {  # by Refund.status
    RefundStatus.PROCESSED: "refund of {amount} {currency} done",
    RefundStatus.PENDING: "refund of {amount} {currency} sent; it is booked when the gateway "
    "confirms it",
    RefundStatus.FAILED: "refund of {amount} {currency} failed: {failure}",
}


def _refund_from_admin(order: Order, data: dict[str, Any], user: Any) -> str:
    """The refund form's action; answers the message to show. A form submitted twice (same
    hidden key, same values) refunds once and says so."""
    request = {
        key: data[key]
        for key in ("amount", "lines", "restock", "reason", "customer_message", "payment")
    }
    issued = staff.issue_refund_request(
        order_id=order.pk,
        actor=user,
        idempotency_key=data["idempotency_key"],
        fingerprint=idempotency.fingerprint({"order_id": order.pk, **request}),
        payment_reference=data["payment"],
        **{k: v for k, v in request.items() if k != "payment"},
    )
    refund = issued.refund
    outcome = _REFUND_OUTCOMES[refund.status].format(
        amount=refund.amount, currency=refund.currency, failure=refund.failure_reason
    )
    if not issued.created:
        return f"{order.number}: this form was already submitted: {outcome}."
    return f"{order.number}: {outcome}."
