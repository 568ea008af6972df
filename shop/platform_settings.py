"""Business rules stored in ``PlatformSetting`` rows, typed and defaulted here.

``get_setting(key)`` is what the rest of the code calls. Rows override the defaults; all
rows are cached together under one key in the shared cache, which is dropped whenever
``set_setting`` changes one. Each process also keeps the rows it read for a few seconds
(``_LOCAL_SECONDS``): checkout reads several settings per request, and a Redis round trip each
time cost more than the rest of the settings code. So an admin edit reaches every process
within those few seconds; the process that made it sees it at once.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from shop.models import PlatformSetting

logger = logging.getLogger(__name__)

_CACHE_KEY = "platform-settings:v1"
_CACHE_SECONDS = 300
_LOCAL_SECONDS = 5.0

# (monotonic deadline, rows) of this process's copy; replaced whole, so readers need no lock.
_local: tuple[float, dict[str, Any]] = (0.0, {})
_local_lock = threading.Lock()


def _whole_number_up_to(maximum: int) -> Callable[[Any], int]:
    """A positive whole number at most ``maximum``: the settings are durations added to now,
    and an unbounded one (a typo's extra zeros) would overflow the date arithmetic of every
    checkout. Rows saved before a bound existed are re-checked when read (``get_setting``)."""

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
            raise ValidationError(f"Must be a whole number from 1 to {maximum}.")
        return value

    return parse


def _storable(text: str) -> bool:
    # PostgreSQL's jsonb cannot hold NUL, and UTF-8 cannot encode a lone surrogate.
    return not any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in text)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Must be true or false.")
    return value


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v and _storable(v) for v in value
    ):
        raise ValidationError("Must be a list of non-empty strings.")
    return value


def _bank_account(value: Any) -> dict[str, str]:
    required = {"bank_name", "account_name", "account_number"}
    if not isinstance(value, dict) or not required <= value.keys():
        raise ValidationError(f"Must be an object with {', '.join(sorted(required))}.")
    if not all(isinstance(value[k], str) and value[k] for k in required):
        raise ValidationError("Bank account fields must be non-empty strings.")
    if not all(_storable(v) for v in value.values() if isinstance(v, str)):
        raise ValidationError("Bank account fields cannot hold NUL or lone surrogate characters.")
    return value


MINUTES_IN_A_WEEK = 7 * 24 * 60
DAYS_IN_TEN_YEARS = 3650


@dataclass(frozen=True)
class SettingSpec:
    default: Any
    parse: Callable[[Any], Any]
    description: str


REGISTRY: dict[str, SettingSpec] = {
    "checkout.lock_ttl_minutes": SettingSpec(
        30,
        _whole_number_up_to(MINUTES_IN_A_WEEK),
        "Minutes a gateway checkout (card, transfer via gateway) holds stock.",
    ),
    "checkout.unpaid_order_expiry_hours": SettingSpec(
        24,
        _whole_number_up_to(24 * 90),
        "Hours an unpaid order waits before it is cancelled as expired. "
        "Bank-transfer orders hold their stock this long.",
    ),
    "checkout.cod_acceptance_hours": SettingSpec(
        72,
        _whole_number_up_to(24 * 90),
        "Hours a cash-on-delivery order waits for staff to accept it; after that it is "
        "cancelled as expired and its stock released.",
    ),
    "checkout.max_unpaid_orders_per_customer": SettingSpec(
        5,
        _whole_number_up_to(1000),
        "Open unpaid orders (pending payment or payment failed) a customer may have; the next "
        "checkout is refused with too_many_unpaid_orders.",
    ),
    "checkout.payment_window_minutes": SettingSpec(
        20,
        _whole_number_up_to(24 * 60),
        "When a customer starts paying, stock locks are extended to at least "
        "this many minutes so a slow 3-D Secure or USSD payment keeps its stock.",
    ),
    "checkout.allowed_payment_methods": SettingSpec(
        ["paystack", "stripe", "flutterwave", "bank_transfer", "cod"],
        _string_list,
        "Payment methods customers may choose at checkout.",
    ),
    "payments.auto_refund_when_out_of_stock": SettingSpec(
        True, _boolean, "Refund automatically when a payment lands after its stock was sold."
    ),
    "payments.reconcile_after_minutes": SettingSpec(
        15,
        _whole_number_up_to(MINUTES_IN_A_WEEK),
        "Pending payments older than this are verified with the gateway.",
    ),
    "payments.reuse_open_attempt_minutes": SettingSpec(
        15,
        _whole_number_up_to(24 * 60),
        "A customer who asks to pay again within this many minutes gets the payment page "
        "already open instead of a new gateway session.",
    ),
    "payments.reconcile_refunds_after_minutes": SettingSpec(
        10,
        _whole_number_up_to(MINUTES_IN_A_WEEK),
        "Refunds still pending this long are looked up at the gateway (again every as many "
        "minutes).",
    ),
    "payments.refund_attention_after_hours": SettingSpec(
        24,
        _whole_number_up_to(24 * 90),
        "A refund nobody could settle (no webhook, not listed by the gateway) this long after "
        "it was sent flags its order for staff.",
    ),
    "ops.archive_after_days": SettingSpec(
        90, _whole_number_up_to(DAYS_IN_TEN_YEARS), "Finished orders older than this are archived."
    ),
    "ops.redrive_webhooks_after_minutes": SettingSpec(
        5,
        _whole_number_up_to(MINUTES_IN_A_WEEK),
        "Verified webhook events still unprocessed after this many minutes are queued again.",
    ),
    "ops.purge_webhooks_after_days": SettingSpec(
        30,
        _whole_number_up_to(DAYS_IN_TEN_YEARS),
        "Processed webhook events older than this are deleted.",
    ),
    "ops.purge_refused_webhooks_after_days": SettingSpec(
        7,
        _whole_number_up_to(DAYS_IN_TEN_YEARS),
        "Webhook bodies refused for their signature are deleted after this many days.",
    ),
    "ops.webhook_max_attempts": SettingSpec(
        10,
        _whole_number_up_to(1000),
        "A webhook event whose processing fails this many times, the last with an error "
        "that retrying does not fix, is dead: no longer re-driven, replayed from the admin.",
    ),
    "bank_transfer.account": SettingSpec(
        {
            "bank_name": "Demo Bank",
            "account_name": "Demo Skincare Ltd",
            "account_number": "0123456789",
        },
        _bank_account,
        "The account customers pay into for bank transfers.",
    ),
}


def _stored_values() -> dict[str, Any]:
    global _local
    deadline, values = _local
    if time.monotonic() < deadline:
        return values
    values = _shared_values()
    with _local_lock:
        _local = (time.monotonic() + _LOCAL_SECONDS, values)
    return values


def _shared_values() -> dict[str, Any]:
    # The cache is an optimisation: with Redis down the rules are read from the database, so
    # checkout keeps working (the outbox and webhook table keep the background work).
    try:
        values = cache.get(_CACHE_KEY)
    except Exception:  # redis-py raises several unrelated types; all mean "no cache"
        logger.warning("platform settings: cache unavailable, reading the database")
        return dict(PlatformSetting.objects.values_list("key", "value"))
    if values is None:
        values = dict(PlatformSetting.objects.values_list("key", "value"))
        try:
            cache.set(_CACHE_KEY, values, _CACHE_SECONDS)
        except Exception:  # as above
            logger.warning("platform settings: cache unavailable, not cached")
    return values


def get_setting(key: str) -> Any:
    spec = REGISTRY[key]
    stored = _stored_values()
    if key in stored:
        try:
            return spec.parse(stored[key])
        except ValidationError:
            # A row edited outside set_setting (raw SQL) is ignored rather than crashing checkout.
            return spec.default
    return spec.default


def validate_setting(key: str, value: Any) -> Any:
    if key not in REGISTRY:
        raise ValidationError({"key": f"Unknown setting {key!r}."})
    try:
        return REGISTRY[key].parse(value)
    except ValidationError as exc:
        raise ValidationError({"value": exc.messages}) from exc


def invalidate_cache() -> None:
    global _local
    with _local_lock:
        _local = (0.0, {})
    try:
        cache.delete(_CACHE_KEY)
    except Exception:  # redis-py raises several unrelated types
        # The cached copy expires within _CACHE_SECONDS anyway.
        logger.warning("platform settings: cache unavailable, could not drop the cached copy")


def set_setting(key: str, value: Any, *, actor=None) -> PlatformSetting:
    value = validate_setting(key, value)
    with transaction.atomic():
        row, _ = PlatformSetting.objects.update_or_create(
            key=key,
            defaults={
                "value": value,
                "description": REGISTRY[key].description,
                "updated_by": actor,
            },
        )
        transaction.on_commit(invalidate_cache)
    return row
