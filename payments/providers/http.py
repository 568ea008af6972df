"""The one HTTP client every gateway goes through: timeouts, bounded retries, typed failures.

Retries only happen for calls that are safe to repeat: reads (GET) and POSTs carrying an
idempotency key the gateway honours (Stripe). A POST without one (Paystack initialize and
refund, Flutterwave payments and refund) is sent exactly once: if the answer is lost we do not
know whether the gateway acted, and the caller settles that by verifying later.

A POST that moves money (``moves_money``: refunds) and fails after it may have reached the
gateway (read timeout, reset connection, 5xx, an unreadable 2xx) raises
``GatewayOutcomeUnknown``, never a plain failure; only one that surely never left (no
connection made) or was surely refused (429, a 4xx answer) is a failure.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from requests.exceptions import InvalidURL
from urllib3.exceptions import NewConnectionError

from payments.providers.errors import (
    GatewayBadResponse,
    GatewayOutcomeUnknown,
    GatewayUnavailable,
)

logger = logging.getLogger(__name__)


def _real_sleep(seconds: float) -> None:
    time.sleep(seconds)


# The sleep used between retries when a client is given none; tests swap it to not wait.
backoff_sleep: Callable[[float], None] = _real_sleep

# 409 is Stripe's "a request with this idempotency key is still running": safe to repeat.
RETRYABLE_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
# Answers that say the request was not carried out: a POST refused with one is a plain failure.
NOT_PROCESSED_STATUSES = frozenset({429})


def may_have_reached_gateway(exc: requests.RequestException) -> bool:
    """False only when the request surely never left: no connection was made."""
    if isinstance(exc, requests.ConnectTimeout | requests.URLRequired | InvalidURL):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return not isinstance(reason, NewConnectionError)
    return True


@dataclass(frozen=True)
class HttpConfig:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


@dataclass(frozen=True)
class GatewayResponse:
    status_code: int
    body: Any  # parsed JSON: dicts, lists, str, bool, int and Decimal (never float)
    headers: Mapping[str, str]


def backoff_delay(attempt: int, config: HttpConfig, rand: Callable[[], float] = random.random):
    """Exponential backoff with jitter: base * 2**attempt, scaled by a random factor in [0.5, 1)."""
    ceiling = min(config.backoff_cap, config.backoff_base * (2**attempt))
    return ceiling * (0.5 + rand() / 2)


def encode_json(payload: Any) -> bytes:
    """JSON with Decimals written as exact numbers (json.dumps would refuse or need floats)."""
    decimals: list[Decimal] = []

    def placeholder(value: Any) -> str:
        if isinstance(value, Decimal):
            decimals.append(value)
            return f"\x00decimal{len(decimals) - 1}\x00"
        raise TypeError(f"Cannot encode {type(value).__name__} as JSON")

    text = json.dumps(payload, default=placeholder, separators=(",", ":"))
    for index, value in enumerate(decimals):
        text = text.replace(f'"\\u0000decimal{index}\\u0000"', format(value, "f"))
    return text.encode()


# Gateway answers and webhooks nest a few levels; anything far deeper is refused here, before
# json's own recursion (RecursionError) or ours over the result (repr, redaction) can overflow.
MAX_JSON_DEPTH = 64


def decode_json(raw: bytes | str) -> Any:
    """Parse JSON keeping every non-integer number as Decimal.

    Raises ValueError for malformed JSON and for JSON nested deeper than ``MAX_JSON_DEPTH``.
    """
    try:
        value = json.loads(raw, parse_float=Decimal)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if _nesting_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _nesting_depth(value: Any) -> int:
    # Iterative: a recursive walk would itself overflow on the values it is meant to refuse.
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class GatewayHttpClient:
    """A requests.Session bound to one gateway's base URL and auth headers."""

    def __init__(
        self,
        *,
        gateway: str,
        base_url: str,
        headers: Mapping[str, str],
        config: HttpConfig,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.base_url = base_url.rstrip("/")
        self.config = config
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update(headers)

    @classmethod
    def with_bearer_key(
        cls,
        *,
        gateway: str,
        display_name: str,
        secret_key: str,
        key_setting: str,
        base_url: str,
        http: HttpConfig | None = None,
        sleep: Callable[[float], None] | None = None,
        accept_json: bool = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> GatewayHttpClient:
        """The client of a gateway that authenticates with ``Authorization: Bearer <secret>``."""
        if not secret_key:
            raise ValueError(f"{display_name} needs a secret key ({key_setting}).")
        headers = {**(extra_headers or {}), "Authorization": f"Bearer {secret_key}"}
        if accept_json:
            headers["Accept"] = "application/json"
        return cls(
            gateway=gateway,
            base_url=base_url,
            headers=headers,
            config=http or HttpConfig(),
            sleep=sleep,
        )

    def close(self) -> None:
        self._session.close()

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> GatewayResponse:
        return self._send("GET", path, params=params, retry=True)

    def post_json(self, path: str, payload: Any, *, moves_money: bool = False) -> GatewayResponse:
        return self._send(
            "POST",
            path,
            data=encode_json(payload),
            headers={"Content-Type": "application/json"},
            retry=False,
            moves_money=moves_money,
        )

    def post_form(
        self,
        path: str,
        form: list[tuple[str, str]],
        *,
        idempotency_key: str | None,
        moves_money: bool = False,
    ) -> GatewayResponse:
        """Form POST; with an idempotency key it is repeated on transient failures."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self._send(
            "POST",
            path,
            data=form,
            headers=headers,
            retry=idempotency_key is not None,
            moves_money=moves_money,
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        moves_money: bool = False,
    ) -> GatewayResponse:
        url = f"{self.base_url}{path}"
        attempts = 1 + (max(self.config.max_retries, 0) if retry else 0)
        for attempt in range(attempts):
            last_attempt = attempt == attempts - 1
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=(self.config.connect_timeout, self.config.read_timeout),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                logger.warning(
                    "%s %s %s failed (attempt %d/%d): %s",
                    self.gateway,
                    method,
                    path,
                    attempt + 1,
                    attempts,
                    type(exc).__name__,
                )
                if last_attempt:
                    details: dict[str, Any] = {
                        "gateway": self.gateway,
                        "reason": type(exc).__name__,
                    }
                    if moves_money and may_have_reached_gateway(exc):
                        raise GatewayOutcomeUnknown(details=details) from exc
                    raise GatewayUnavailable(details=details) from exc
            else:
                if response.status_code not in RETRYABLE_STATUSES:
                    return self._parse(response, method, path, moves_money=moves_money)
                logger.warning(
                    "%s %s %s answered %d (attempt %d/%d)",
                    self.gateway,
                    method,
                    path,
                    response.status_code,
                    attempt + 1,
                    attempts,
                )
                if last_attempt:
                    details = {"gateway": self.gateway, "status": response.status_code}
                    if moves_money and response.status_code not in NOT_PROCESSED_STATUSES:
                        raise GatewayOutcomeUnknown(details=details)
                    raise GatewayUnavailable(details=details)
            (self._sleep or backoff_sleep)(backoff_delay(attempt, self.config))
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(
        self, response: requests.Response, method: str, path: str, *, moves_money: bool
    ) -> GatewayResponse:
        try:
            body = decode_json(response.content)
        except ValueError as exc:
            logger.warning(
                "%s %s %s answered %d with a body that is not JSON",
                self.gateway,
                method,
                path,
                response.status_code,
            )
            details = {"gateway": self.gateway, "status": response.status_code}
            if moves_money and response.status_code < 300:
                raise GatewayOutcomeUnknown(details=details) from exc  # accepted, unreadable
            raise GatewayBadResponse(details=details) from exc
        return GatewayResponse(response.status_code, body, response.headers)
