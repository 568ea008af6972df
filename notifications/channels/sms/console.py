"""Development SMS: the message goes to the log, nothing leaves the machine."""

import logging
import uuid

from notifications.channels.base import SendResult

logger = logging.getLogger("notifications.sms.console")


class ConsoleProvider:
    name = "console"

    def send(self, *, to: str, body: str) -> SendResult:
        logger.info("SMS to %s: %s", to, body)
        return SendResult(provider_message_id=f"console-{uuid.uuid4().hex}")
