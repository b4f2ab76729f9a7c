"""Bearer-token authentication, shared by the review API (personal tokens) and intake (intake tokens)."""

import functools
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from reviewqueue.accounts.models import ApiToken, HashedToken, hash_token
from reviewqueue.accounts.roles import remember_roles, role_codenames_sql

# last_used_at is written at most this often per token, so a busy token costs no write per request.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def bearer_key(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def authenticate_bearer(request, tokens: QuerySet) -> HashedToken | None:
    """The active token among `tokens` presented in the Authorization header, or None."""
    key = bearer_key(request)
    if key is None:
        return None
    token = tokens.filter(key_hash=hash_token(key), revoked_at__isnull=True).first()
    if token is not None:
        _touch(token)
    return token


def authenticate_api_token(request) -> ApiToken | None:
    """The live personal token presented, with its user and the user's roles, read by one statement.

    The same rows as ApiToken.objects.select_related("user") filtered to an active user, a token not expired
    nor revoked, with the roles user_roles would read (roles.py): written out once (_token_statement), as
    compiling that query on every API request was the largest part of the web's CPU for an API call."""
    key = bearer_key(request)
    if key is None:
        return None
    statement = _token_statement()
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [hash_token(key), timezone.now()])
        row = cursor.fetchone()
    if row is None:
        return None
    token = statement.token(row)
    _touch(token)
    return token


@dataclass(frozen=True)
class _TokenStatement:
    sql: str
    token_fields: list[str]
    user_fields: list[str]

    def token(self, row: tuple) -> ApiToken:
        token_count, user_count = len(self.token_fields), len(self.user_fields)
        token = ApiToken.from_db(connection.alias, self.token_fields, row[:token_count])
        user = get_user_model().from_db(connection.alias, self.user_fields, row[token_count : token_count + user_count])
        token.user = user
        remember_roles(user, row[-1])
        return token


@functools.cache
def _token_statement() -> _TokenStatement:
    user_model = get_user_model()
    token_meta, user_meta = ApiToken._meta, user_model._meta
    quote = connection.ops.quote_name
    token_columns = [f"t.{quote(f.column)}" for f in token_meta.concrete_fields]
    user_columns = [f"u.{quote(f.column)}" for f in user_meta.concrete_fields]
    user_id, token_user_id = quote(user_meta.pk.column), quote(token_meta.get_field("user").column)
    columns = ", ".join(token_columns + user_columns)
    sql = (
        f"SELECT {columns}, ({role_codenames_sql(f'u.{user_id}')})"  # noqa: S608 (the models' own names)
        f" FROM {quote(token_meta.db_table)} t JOIN {quote(user_meta.db_table)} u ON u.{user_id} = t.{token_user_id}"
        " WHERE t.key_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.is_active"
        " LIMIT 1"
    )
    return _TokenStatement(
        sql=sql,
        token_fields=[f.attname for f in token_meta.concrete_fields],
        user_fields=[f.attname for f in user_meta.concrete_fields],
    )


def _touch(token: HashedToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
