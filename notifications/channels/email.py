"""Email through Django's configured EMAIL_BACKEND (console, SMTP, or django-anymail)."""

import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.channels.base import (
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
)
from notifications.rendering import RenderedEmail


def _message_id_domain() -> str:
    return settings.SHOP_SUPPORT_EMAIL.rpartition("@")[2] or "localhost"


def send_email(*, to: str, email: RenderedEmail) -> SendResult:
    message_id = make_msgid(domain=_message_id_domain())
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.SHOP_SUPPORT_EMAIL],
        headers={"Message-ID": message_id},
        connection=get_connection(fail_silently=False),
    )
    message.attach_alternative(email.html, "text/html")
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values()
        )
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentDeliveryError(f"recipient refused: {detail}") from exc
        raise TransientDeliveryError(f"recipient deferred: {detail}") from exc
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise TransientDeliveryError(f"SMTP {exc.smtp_code} {reply}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"SMTP unavailable: {exc}") from exc
    # django-anymail reports the ESP's own id; SMTP and console keep our Message-ID.
    anymail_status = getattr(message, "anymail_status", None)
    provider_id = getattr(anymail_status, "message_id", None)
    return SendResult(provider_message_id=str(provider_id or message_id))
