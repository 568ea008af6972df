"""Token authentication in one hand-written query (every API request pays for it)."""

from functools import cache

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from config import sql
from shop.models import User


@cache
def _user_fields() -> list[str]:
    return [field.attname for field in User._meta.concrete_fields]


@cache
def _token_user_sql() -> str:
    user_columns = ", ".join(
        "u." + connection.ops.quote_name(field.column) for field in User._meta.concrete_fields
    )
    return (
        f"SELECT t.{sql.column(Token, 'created')}, {user_columns} "  # noqa: S608 (names only)
        f"FROM {sql.table(Token)} t JOIN {sql.table(User)} u "
        f"ON u.{sql.column(User, 'id')} = t.{sql.column(Token, 'user')} "
        f"WHERE t.{sql.column(Token, 'key')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, with the same answers, without the ORM's compile."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        if "\x00" in key:  # no token has one, and PostgreSQL cannot compare text holding NUL
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        row = sql.fetch_one(_token_user_sql(), [key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        created, *user_values = row
        user = User.from_db(connection.alias, _user_fields(), user_values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token.from_db(
            connection.alias, ["key", "user_id", "created"], [key, user.pk, created]
        )
        token.user = user
        return user, token
