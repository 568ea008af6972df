"""Account writes that span the shop and the outbox: signing up sends the verification email."""

import logging

from django.db import transaction

from accounts.verification import send_verification_email
from notifications.exceptions import InvalidRecipient
from shop import services as shop_services
from shop.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def register(
    *, email: str, password: str, first_name: str, last_name: str, phone: str = ""
) -> User:
    """Create the customer and queue the verification email, in one transaction."""
    user = shop_services.customer_register(
        email=email, password=password, first_name=first_name, last_name=last_name, phone=phone
    )
    try:
        send_verification_email(user)
    except InvalidRecipient:
        # An address the account accepts but a mail server would not (e.g. one that only
        # lowercasing made invalid): the account is made; it stays unverified.
        logger.warning("no verification email for account %s: address refused", user.pk)
    return user
