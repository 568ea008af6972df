"""The messages sent to a person, for the personal-data export and erasure.

Found by recipient (the outbox knows addresses, not accounts). Erasure replaces the recipient
and the name in the context of every message, and stops those not sent yet: nobody is
written to at an address the shop was asked to forget.
"""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from notifications.events import without_secrets
from notifications.models import Notification

Channel, Status = Notification.Channel, Notification.Status
ERASED = "(erased)"


def messages_to(*, email: str, phone: str) -> QuerySet[Notification]:
    recipients = Q(channel=Channel.EMAIL, recipient__iexact=email.strip())
    if phone:
        recipients |= Q(channel=Channel.SMS, recipient=phone)
    return Notification.objects.filter(recipients).order_by("created_at", "pk")


@transaction.atomic
def forget_recipient(*, email: str, phone: str, replacement_email: str) -> int:
    """Replace the person in every message to them; returns how many messages."""
    now = timezone.now()
    messages = list(messages_to(email=email, phone=phone).select_for_update())
    for message in messages:
        changes = {
            "recipient": replacement_email if message.channel == Channel.EMAIL else ERASED,
            "context": {
                **without_secrets(message.template, message.context),
                **({"customer_name": ERASED} if "customer_name" in message.context else {}),
            },
            "updated_at": now,
        }
        if message.status in (Status.QUEUED, Status.FAILED):
            changes |= {"status": Status.DEAD, "last_error": "Recipient erased: not sent."}
        Notification.objects.filter(pk=message.pk).update(**changes)
    return len(messages)
