"""The provider contract: plain dataclasses in and out, one Protocol every payment method meets.

Providers never touch the database. What they return is all the caller needs to store
(references, gateway ids, raw bodies) and to decide (normalised statuses and events).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from payments.providers.errors import (
    AmountNotRepresentable,
    GatewayBadResponse,
    GatewayOutcomeUnknown,
    InvalidWebhookPayload,
    UnsupportedCurrency,
)

VerifyStatus = Literal["succeeded", "failed", "pending", "abandoned", "reversed"]
RefundStatus = Literal["pending", "succeeded", "failed", "manual"]
EventKind = Literal[
    "charge_succeeded",
    "charge_failed",
    "refund_processed",
    "refund_failed",
    "dispute_opened",
    "dispute_resolved",
    "unknown",
]
DisputeStatus = Literal["open", "won", "lost"]


@dataclass(frozen=True)
class CreatePaymentRequest:
    reference: str  # ours, unique per payment attempt; the gateway's transaction reference
    amount: Decimal
    currency: str
    email: str
    callback_url: str  # where the gateway sends the customer's browser afterwards
    metadata: Mapping[str, str] = field(default_factory=dict)  # e.g. {"order_number": ...}
    description: str = ""
    cancel_url: str | None = None  # defaults to callback_url where a gateway needs one


@dataclass(frozen=True)
class PaymentSession:
    reference: str
    redirect_url: str | None  # hosted payment page, None when there is nothing to open
    instructions: dict[str, Any] | None  # what to show instead (bank account, pay on delivery)
    gateway_ids: dict[str, str]  # store these; some providers need them to verify or refund
    raw: Any = None


@dataclass(frozen=True)
class VerifyResult:
    """The gateway's current view of a payment.

    ``reversed`` means the money was taken and given back (refund or chargeback): never a
    reason on its own to grant value. ``amount`` is what was actually charged; compare it (and
    the currency) with the order before treating ``succeeded`` as paid.
    """

    reference: str
    status: VerifyStatus
    amount: Decimal | None
    currency: str | None
    paid_at: datetime | None
    gateway_ids: dict[str, str]
    gateway_status: str  # the gateway's own word, for the record
    failure_reason: str | None = None
    raw: Any = None


@dataclass(frozen=True)
class RefundResult:
    reference: str  # the payment's reference
    status: RefundStatus  # "manual": no remote refund exists, staff pay it back by hand
    amount: Decimal | None  # None: the full amount (manual refunds of unknown size)
    currency: str | None
    gateway_refund_id: str | None
    gateway_status: str
    raw: Any = None


@dataclass(frozen=True)
class GatewayRefund:
    """One refund as the gateway lists it (reconciliation of refunds whose answer was lost)."""

    gateway_refund_id: str
    status: RefundStatus  # pending, succeeded or failed
    amount: Decimal
    currency: str | None  # None: the payment's own (the gateway does not repeat it)
    created_at: datetime | None
    gateway_status: str


@dataclass(frozen=True)
class DisputeInfo:
    gateway_dispute_id: str
    status: DisputeStatus
    reason: str | None
    evidence_due: datetime | None
    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class RefundInfo:
    gateway_refund_id: str | None
    refund_reference: str | None  # processor-side reference when the gateway has one
    status: str


@dataclass(frozen=True)
class GatewayEvent:
    """One normalised webhook event.

    ``event_key`` is unique per gateway and stable across redeliveries: store it under a unique
    constraint to drop duplicates. ``trusted`` is False when the signature does not cover the
    body (Flutterwave's ``verif-hash`` is a shared secret, not a MAC): confirm such events with
    ``verify()`` before acting on their amounts.
    """

    gateway: str
    kind: EventKind
    event_type: str  # the gateway's own event name
    event_key: str
    reference: str | None  # our payment reference, when the gateway echoes it
    amount: Decimal | None
    currency: str | None
    occurred_at: datetime | None
    gateway_ids: dict[str, str] = field(default_factory=dict)
    trusted: bool = True
    failure_reason: str | None = None
    dispute: DisputeInfo | None = None
    refund: RefundInfo | None = None
    raw: Any = None


@runtime_checkable
class PaymentProvider(Protocol):
    name: str
    has_hosted_page: bool

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession: ...

    def verify(
        self, reference: str, *, gateway_ids: Mapping[str, str] | None = None
    ) -> VerifyResult: ...

    def refund(
        self,
        reference: str,
        amount: Decimal | None,
        reason: str,
        *,
        currency: str | None = None,
        gateway_ids: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        """Refund ``amount`` (in ``currency``, required with an amount) or, with None, all of it.

        ``idempotency_key`` must be stable for one logical refund (e.g. our Refund row id):
        gateways that honour keys may then retry safely; the others never retry a refund.
        """
        ...

    def list_refunds(
        self,
        reference: str,
        *,
        gateway_ids: Mapping[str, str] | None = None,
        since: datetime | None = None,
    ) -> list[GatewayRefund]:
        """Every refund the gateway holds for the payment ``reference`` (made since ``since``,
        where the gateway can only list by date): how a refund whose answer was lost is found."""
        ...

    def expire_session(self, reference: str, *, gateway_ids: Mapping[str, str]) -> bool:
        """Close the payment's hosted page so it can no longer be paid; False where the gateway
        offers no way to (the attempt then stays open until the gateway lets it lapse)."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]: ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over a plain dict or Django's request.headers."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def signatures_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison of two ASCII signatures; anything else is a mismatch."""
    if not received or not received.isascii():
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 strings ('2024-08-22T09:15:02.000Z') or unix seconds, as aware UTC datetimes."""
    if value in (None, ""):
        return None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value), tz=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"Not a timestamp: {value!r}")


# What reading a missing field or a value of the wrong type out of parsed JSON raises.
_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)


@contextmanager
def reading_gateway_answer(gateway: str, what: str, *, accepted: bool = False) -> Iterator[None]:
    """Turn a missing field or wrong type in a gateway's answer into GatewayBadResponse, or,
    with ``accepted`` (the 2xx answer to a request that moves money), GatewayOutcomeUnknown:
    the gateway took the request, and what it did is not known from this answer."""
    try:
        yield
    except _MALFORMED as exc:
        details = {"gateway": gateway, "call": what}
        if accepted:
            raise GatewayOutcomeUnknown(details=details) from exc
        raise GatewayBadResponse(
            f"The {gateway} answer to {what} is missing or has malformed fields.", details=details
        ) from exc


@contextmanager
def reading_webhook(gateway: str) -> Iterator[None]:
    """Turn a missing field or wrong type in a verified webhook body into InvalidWebhookPayload.

    Not GatewayBadResponse: that is a 502 about an answer to our own call, while here the
    gateway is the caller, and a 5xx would only make it redeliver the same body.
    """
    try:
        yield
    except (*_MALFORMED, RecursionError, UnsupportedCurrency, AmountNotRepresentable) as exc:
        # A currency or an amount the shop cannot read makes the body unreadable too.
        raise InvalidWebhookPayload(details={"gateway": gateway}) from exc


def require_currency(currency: str | None) -> str:
    if not currency:
        raise ValueError("A refund of a given amount needs its currency.")
    return currency.upper()
