"""A deactivated account loses its API tokens, however it was deactivated (admin, service)."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts import tokens
from shop.models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.revoke_tokens_of_inactive_user")
def revoke_tokens_of_inactive_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        tokens.revoke_all(instance)
