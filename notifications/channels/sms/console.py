"""Development SMS: a line in the log, nothing leaves the machine.

The line says that a message was "sent" and how long it was, never to whom or what it said:
logs are shipped and kept far longer than the outbox row, which holds both. ``check --deploy``
refuses this provider when ``DEBUG`` is off (``notifications.E001``).
"""

import logging
import uuid

from notifications.channels.base import PermanentDeliveryError, SendResult

logger = logging.getLogger("notifications.sms.console")


class ConsoleProvider:
    name = "console"

    def send(self, *, to: str, body: str) -> SendResult:
        message_id = f"console-{uuid.uuid4().hex}"
        logger.info(
            "SMS %s not sent (console provider): %d characters",
            message_id,
            len(body),
            extra={"provider_message_id": message_id},
        )
        return SendResult(provider_message_id=message_id)


class SwitchedOffProvider:
    """``SMS_PROVIDER=none``: no SMS is queued; one queued before the switch is dead at once."""

    name = "none"

    def send(self, *, to: str, body: str) -> SendResult:
        raise PermanentDeliveryError("SMS is switched off (SMS_PROVIDER=none).")
