"""Bearer-token authentication, shared by the review API (personal tokens) and intake (intake tokens)."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from reviewqueue.accounts.models import ApiToken, HashedToken, hash_token

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
    live = ApiToken.objects.select_related("user").filter(user__is_active=True, expires_at__gt=timezone.now())
    return authenticate_bearer(request, live)


def _touch(token: HashedToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
