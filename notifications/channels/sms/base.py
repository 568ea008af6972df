"""The SMS provider contract and the HTTP error mapping the real providers share."""

from typing import Protocol

import requests

from notifications.channels.base import (
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
)

# (connect, read) seconds for every provider call.
HTTP_TIMEOUT = (5, 15)

# Statuses that say "not now" rather than "never": auth/config trouble is fixed by ops, not by
# giving up on the customer's message.
_RETRYABLE_4XX = {401, 403, 408, 409, 423, 425, 429}


class SmsProvider(Protocol):
    name: str

    def send(self, *, to: str, body: str) -> SendResult:
        """Send ``body`` to the E.164 number ``to``; raise a DeliveryError on failure."""
        ...


def post(session: requests.Session, url: str, **kwargs) -> requests.Response:
    """POST with the shared timeout, turning network trouble and error statuses into typed
    delivery errors. Secrets travel in auth/body, never in the error text."""
    try:
        response = session.post(url, timeout=HTTP_TIMEOUT, **kwargs)
    except requests.Timeout as exc:
        raise TransientDeliveryError(f"timeout calling {url}") from exc
    except requests.RequestException as exc:
        raise TransientDeliveryError(f"cannot reach {url}: {type(exc).__name__}") from exc
    if response.status_code >= 500 or response.status_code in _RETRYABLE_4XX:
        raise TransientDeliveryError(f"HTTP {response.status_code}: {_excerpt(response)}")
    if response.status_code >= 400:
        raise PermanentDeliveryError(f"HTTP {response.status_code}: {_excerpt(response)}")
    return response


def json_body(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientDeliveryError(f"unreadable response: {_excerpt(response)}") from exc
    if not isinstance(data, dict):
        raise TransientDeliveryError(f"unexpected response: {_excerpt(response)}")
    return data


def _excerpt(response: requests.Response) -> str:
    return response.text[:300]
