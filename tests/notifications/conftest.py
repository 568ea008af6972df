from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.fakes.http_server import FakeHttpServer, twilio_accepts
from tests.fakes.smtp_server import FakeSmtpServer


class Clock:
    """An injectable clock for dispatch_due: time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def smtp_server(settings) -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def twilio_server(settings) -> Iterator[FakeHttpServer]:
    server = FakeHttpServer(responder=twilio_accepts)
    server.start()
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_BASE_URL = server.url
    settings.TWILIO_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
    settings.TWILIO_AUTH_TOKEN = "twilio-test-token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    yield server
    server.stop()
