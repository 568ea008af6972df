"""What every channel returns or raises."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class DeliveryError(Exception):
    """A message was not delivered. Subclasses say whether a retry can help."""

    retryable: bool = True

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """Provider down, timeout, rate limit, server busy: retry later with backoff."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """The message can never be delivered as is (invalid number, refused mailbox): dead now."""

    retryable = False
