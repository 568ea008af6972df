"""A customer's personal data: everything the shop holds about them (export), and erasure.

Erasure keeps the books: orders, their items, payments, refunds and disputes stay with their
amounts, states and references (tax and accounting law require them, and a refund or a
chargeback may still arrive); so does the account row they point to, made unusable. What
identifies the person is replaced or deleted: the account's email, names and phone, the address
book, the cart, every order's delivery address snapshot and note, the recipient and name of
every message, gateways' raw webhook bodies, sign-in tokens and two-factor devices. The README
("Your data") lists the fields; ``erased_at`` records when.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from accounts import tokens
from accounts.errors import PasswordIncorrect, StaffAccountNotErasable
from notifications import privacy as notification_privacy
from orders import privacy as order_privacy
from payments import privacy as payment_privacy
from shop.models import Address, Cart, User


def erased_email(user: User) -> str:
    """A unique, undeliverable address (.invalid is reserved, RFC 2606) for an erased account."""
    return f"erased-{user.pk}@erased.invalid"


def export(user: User) -> dict[str, Any]:
    """What ``accounts.serializers.PersonalDataSerializer`` renders."""
    now = timezone.now()
    return {
        "exported_at": now,
        "account": user,
        "addresses": Address.objects.filter(customer=user).order_by("pk"),
        "orders": order_privacy.orders_for_export(customer_id=user.pk),
        "notifications": notification_privacy.messages_to(email=user.email, phone=user.phone),
        "sign_ins": AuthToken.objects.filter(user=user, expiry__gt=now).order_by("created"),
    }


@transaction.atomic
def erase(*, user: User, password: str) -> User:
    """Erase the customer's personal data (see the module docstring); ``password`` confirms.

    Staff accounts are refused: they are the actors of the audit log and order history, and
    are closed by an administrator (deactivated), not erased.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_staff or user.is_superuser:
        raise StaffAccountNotErasable()
    if not user.check_password(password):
        raise PasswordIncorrect(details={"field": "password"})
    old_email, old_phone = user.email, user.phone

    user.email = erased_email(user)
    user.first_name = user.last_name = user.phone = ""
    user.sms_opt_out = True
    user.is_active = False
    user.email_verified_at = None
    user.erased_at = timezone.now()
    user.set_unusable_password()  # also ends every admin session: its hash no longer matches
    user.save()

    tokens.revoke_all(user)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    Address.objects.filter(customer=user).delete()
    Cart.objects.filter(customer=user).delete()  # its lines go with it
    order_privacy.erase_customer_details(customer_id=user.pk)
    payment_privacy.erase_gateway_payloads(customer_id=user.pk)
    notification_privacy.forget_recipient(
        email=old_email, phone=old_phone, replacement_email=user.email
    )
    return user
