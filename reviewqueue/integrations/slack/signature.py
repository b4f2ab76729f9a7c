"""Slack's request signing, checked with the official SDK (`slack_sdk.signature.SignatureVerifier`).

Headers `X-Slack-Request-Timestamp` (Unix seconds) and `X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:{timestamp}:{raw body}">`, keyed by the app's signing secret; a timestamp more than 5 minutes from
now is refused (a replay). contracts/slack.md.
"""

import time
from collections.abc import Callable, Mapping

from slack_sdk.signature import Clock, SignatureVerifier

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


class _FixedClock(Clock):
    def __init__(self, now: Callable[[], float]):
        self._now = now

    def now(self) -> float:
        return self._now()


def request_is_signed(
    body: bytes, headers: Mapping[str, str], secret: str, now: Callable[[], float] = time.time
) -> bool:
    """True when Slack signed this body within the last 5 minutes (either way). Never raises."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    # The SDK int()s the timestamp and decodes the body as UTF-8: refuse what would make it raise.
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return SignatureVerifier(secret, clock=_FixedClock(now)).is_valid(
        body=body, timestamp=timestamp, signature=signature
    )


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The headers Slack sends with `body` (for the sandbox and the tests)."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature}
