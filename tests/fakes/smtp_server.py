"""A real SMTP server on 127.0.0.1 (aiosmtpd) that accepts, defers or refuses mail."""

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class FakeSmtpServer:
    """``refuse_rcpt``/``refuse_data``: an SMTP reply line (e.g. "550 5.1.1 no such user")
    returned at that stage instead of accepting."""

    refuse_rcpt: str | None = None
    refuse_data: str | None = None
    received: list[EmailMessage] = field(default_factory=list)
    attempts: int = 0  # DATA or RCPT stages reached, refused or not
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            with self._lock:
                self.attempts += 1
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.attempts += 1
            if self.refuse_data:
                return self.refuse_data
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
