"""API token authentication in one hand-written query (every API request pays for it).

Tokens are django-rest-knox's: the client holds the token, the database only its SHA-512
digest (the primary key of ``knox.AuthToken``), an expiry and the owner. Hashing the presented
token gives the key to look up, so the token and its user come back in one primary-key query;
knox's own class reads by a prefix, then the user, then the user's other tokens.
"""

from functools import cache

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework import authentication, exceptions

from core import sql
from shop.models import User

_TOKEN_FIELDS = ["digest", "token_key", "user_id", "created", "expiry"]


@cache
def _user_fields() -> list[str]:
    return [field.attname for field in User._meta.concrete_fields]


@cache
def _token_user_sql() -> str:
    user_columns = ", ".join(
        f"u.{connection.ops.quote_name(field.column)} AS user_{field.attname}"
        for field in User._meta.concrete_fields
    )
    token = sql.table(AuthToken)
    return (
        f"SELECT t.{sql.column(AuthToken, 'token_key')} AS token_key, "  # noqa: S608 (names)
        f"t.{sql.column(AuthToken, 'created')} AS created, "
        f"t.{sql.column(AuthToken, 'expiry')} AS expiry, "
        f"{user_columns} FROM {token} t JOIN {sql.table(User)} u "
        f"ON u.{sql.column(User, 'id')} = t.{sql.column(AuthToken, 'user')} "
        f"WHERE t.{sql.column(AuthToken, 'digest')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <token>``: DRF's header parsing and answers, knox's tokens.

    An expired token is refused like an unknown one (the beat task deletes it later; the
    request path does not write). ``request.auth`` is the ``knox.AuthToken`` row, which
    logout deletes.
    """

    def authenticate_credentials(self, key: str) -> tuple[User, AuthToken]:
        digest = hash_token(key)
        row = sql.record(_token_user_sql(), [digest])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        created, expiry = sql.datetime_from_db(row.created), sql.datetime_from_db(row.expiry)
        if expiry is not None and expiry <= timezone.now():
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user_values = [getattr(row, f"user_{name}") for name in _user_fields()]
        user = User.from_db(connection.alias, _user_fields(), user_values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = AuthToken.from_db(
            connection.alias, _TOKEN_FIELDS, [digest, row.token_key, user.pk, created, expiry]
        )
        token.user = user
        return user, token
