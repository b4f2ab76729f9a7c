"""What every part of the MultiMail sandbox's state shares: its rules' constants, its error, times and ids.

The choices where the contract is silent are listed in state.py.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from reviewqueue.integrations.multimail import statuses
from reviewqueue.integrations.multimail.webhook_events import WEBHOOK_EVENTS

OVERSIGHT_MODES = ["read_only", "gated_all", "gated_send", "monitored", "autonomous"]  # most → least oversight
GATED_SEND_MODES = {"gated_all", "gated_send"}
EVENTS = frozenset(WEBHOOK_EVENTS)
CANCELLABLE = statuses.IN_OVERSIGHT_QUEUE | {"scheduled"}
IDEMPOTENCY_TTL = 24 * 3600
SCOPES = {"read", "send", "admin", "oversight"}
ADDRESS_LOCAL = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SandboxError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def newest_first_page(items: list[dict], limit: int, cursor: int | None, view) -> dict:
    """A page of `items` (stored oldest first, only ever appended to) listed newest first.

    The cursor is the position, counted from the oldest, where the next page ends: items appended
    while a reader pages through (new audit entries, new deliveries) never shift it, so no item is
    listed twice nor skipped. Only the page's own items are viewed: a page costs the same however
    long the list has grown."""
    end = len(items) if cursor is None else min(cursor, len(items))
    start = max(0, end - limit)
    page = [view(item) for item in reversed(items[start:end])]
    return {"items": page, "cursor": str(start) if start > 0 else None}
