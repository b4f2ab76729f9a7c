"""MultiMail webhook signatures: the one place that knows the format (the sandbox signs with it too).

contracts/multimail-notes.md, "reviewqueue's reading, until MultiMail documents more":
`X-MultiMail-Signature` holds the lowercase hex HMAC-SHA256 of the raw request body, keyed by the
whole signing secret string (`whsec_` prefix included), bare or prefixed `sha256=`.
"""

import hashlib
import hmac

HEADER = "X-MultiMail-Signature"
_PREFIX = "sha256="


def sign(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    """True only when `header` carries the body's HMAC under `secret`; compared in constant time."""
    if not header or not secret:
        return False
    given = header.strip()
    if given[: len(_PREFIX)].lower() == _PREFIX:
        given = given[len(_PREFIX) :]
    return hmac.compare_digest(given.lower().encode(), sign(raw_body, secret).encode())
