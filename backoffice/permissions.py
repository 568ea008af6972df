"""Who on the staff may do what to an order: one helper, checked by every staff caller
(admin views, bulk actions, the staff API) before it calls a service.

The groups and their permissions are created by migration ``0004_staff_groups``:

- Support: view orders, move them through fulfilment (and accept COD / record a refused
  delivery), cancel unpaid orders.
- Finance: view orders, refunds (and so cancellations of paid orders), bank-transfer
  confirmation, cash collected on delivery, cancel unpaid orders.

Superusers have every permission.
"""

from typing import Any

from core.errors import DomainError

VIEW = "orders.view_order"
FULFIL = "orders.fulfil_order"
CANCEL_UNPAID = "orders.cancel_unpaid_order"
REFUND = "orders.refund_order"
CONFIRM_BANK_TRANSFER = "orders.confirm_bank_transfer"
RECORD_CASH = "orders.record_cash_collected"


class StaffPermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403
    message = "You do not have permission to do this."


def has_staff_permission(user: Any, perm: str) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(perm)
    )


def require_staff_permission(user: Any, perm: str) -> None:
    """Raise ``permission_denied`` (403) unless ``user`` is active staff holding ``perm``."""
    if not has_staff_permission(user, perm):
        raise StaffPermissionDenied(details={"permission": perm})
