"""Intercom webhook signatures: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>`.

Keyed by the app's client secret (INTERCOM_CLIENT_SECRET). Intercom signs nothing else (no
timestamp), so the notification id is the only replay defence; the receiver deduplicates on it.
Kept in one module so the sandbox signs exactly what the receiver verifies.
"""

import hashlib
import hmac

PREFIX = "sha1="


def sign(raw_body: bytes, secret: str) -> str:
    """The header value Intercom would send for `raw_body`."""
    return PREFIX + hmac.new(secret.encode(), raw_body, hashlib.sha1).hexdigest()


def verify_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    """True only for a `sha1=` header matching the body; compared in constant time.

    Any other scheme (e.g. `sha256=`) is refused: Intercom documents sha1 only, and accepting a
    scheme we do not compute would be a way around the check.
    """
    if not secret or not header:
        return False
    given = header.strip().lower()
    if not given.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(raw_body, secret).encode(), given.encode())
