"""What intake reads on every request and what rarely changes, kept in memory per process.

The intake tokens, the active routing rule set and the mailboxes' oversight modes were three queries
on every intake. They are kept here, each under the version number PostgreSQL moves with every change
to them (triggers, migration routing 0003: no writer can forget to move it). Each intake reads that
number once, one small statement, and uses what is kept only when it is the number it was kept under.
So a token revoked, rules saved or a mailbox's mode changed count from the first intake that starts
after the change commits, exactly as when each was read from its table.

A token presented that is not among those kept is looked up (and kept when it is active); one that is
unknown or revoked is never kept, so a flood of wrong keys does not fill memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from reviewqueue.accounts.models import hash_token
from reviewqueue.accounts.tokens import bearer_key
from reviewqueue.routing.models import IntakeToken, Mailbox, RoutingRuleSet
from reviewqueue.routing.rules import RuleSet

_VERSION_READ = "SELECT version FROM routing_intake_reads_version WHERE id = 1"
# last_used_at is written at most this often per token (and process), as accounts.tokens does.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_UNREAD = object()


@dataclass
class IntakeReads:
    """One version's reads, filled as they are first needed. Shared by the threads of a process."""

    version: int | None
    _tokens: dict[str, IntakeToken] = field(default_factory=dict)
    _ruleset: object = _UNREAD
    _modes: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, key_hash: str) -> IntakeToken | None:
        """The active intake token with this key hash, or None."""
        token = self._tokens.get(key_hash)
        if token is None:
            token = IntakeToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True).first()
            if token is not None:
                with self._lock:
                    token = self._tokens.setdefault(key_hash, token)
        return token

    def ruleset(self) -> tuple[RoutingRuleSet, RuleSet] | None:
        """The active routing rule set (the newest version) with its rules parsed, or None before the first."""
        if self._ruleset is _UNREAD:
            model = RoutingRuleSet.objects.order_by("-version").first()
            self._ruleset = None if model is None else (model, RuleSet.from_model(model))
        return self._ruleset

    def mailbox_mode(self, mailbox_id: str) -> str:
        """The mailbox's oversight mode as last mirrored from MultiMail ('' for a mailbox we do not know)."""
        if self._modes is None:
            self._modes = dict(Mailbox.objects.values_list("mailbox_id", "oversight_mode"))
        return self._modes.get(mailbox_id) or ""


_kept = IntakeReads(version=None)
_kept_lock = threading.Lock()


def intake_reads() -> IntakeReads:
    """This process's reads for the current version (one statement), fresh ones when it has moved."""
    global _kept
    row = _version_read()
    version = row[0] if row else None
    kept = _kept
    if version is not None and kept.version == version:
        return kept
    fresh = IntakeReads(version=version)
    if version is not None:  # without the row nothing tells a change: nothing is kept
        with _kept_lock:
            _kept = fresh
    return fresh


def _version_read() -> tuple | None:
    """The version's row, read by the request's first statement, which is also the check of a kept connection.

    Django checks a kept connection (CONN_HEALTH_CHECKS) before a request's first statement with a SELECT 1
    of its own: a round trip on every intake. Here the version read is that check: on a connection not yet
    checked in this request and outside any transaction (so nothing is lost with it), a failure (PostgreSQL
    restarted, the backend ended) closes it and the read runs again on a new one, as after a failed check."""
    if (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    ):
        connection.health_check_done = True  # this read checks it
        try:
            return _execute(_VERSION_READ)
        except (OperationalError, InterfaceError):
            connection.close()
    return _execute(_VERSION_READ)


def _execute(sql: str) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def intake_token_authenticate(request, reads: IntakeReads) -> IntakeToken | None:
    """The active intake token in the request's Authorization header (Bearer), or None."""
    key = bearer_key(request)
    if key is None:
        return None
    token = reads.token(hash_token(key))
    if token is not None:
        _touch(token)
    return token


def _touch(token: IntakeToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now  # first, so the other threads holding this token do not write it too
        IntakeToken.objects.filter(pk=token.pk).update(last_used_at=now)
