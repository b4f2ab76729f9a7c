"""Secrets at rest (webhook signing secrets), encrypted with a key derived from FIELD_ENCRYPTION_KEY."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another FIELD_ENCRYPTION_KEY (or is damaged)."""


def _fernet() -> Fernet:
    # Fernet wants 32 url-safe base64 bytes; any length of configured key is stretched to that.
    digest = hashlib.sha256(b"reviewqueue.field-encryption:" + settings.FIELD_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("cannot decrypt: FIELD_ENCRYPTION_KEY changed since it was stored") from error
