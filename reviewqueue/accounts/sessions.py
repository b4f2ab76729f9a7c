"""People's signed-in sessions: recorded at sign-in, listed for admins, ended by them or by deactivation.

Django's session store is keyed by session only; UserSession indexes it by person. Ending a session
deletes it from the store (database and cache), so its cookie is anonymous from the next request.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from reviewqueue.accounts.http import client_ip
from reviewqueue.accounts.models import UserSession
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record


def _session_store(session_key: str):
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")(session_key=session_key)


def session_record(request, user, method: str) -> UserSession:
    """Index the request's (just signed-in) session under its person."""
    if request.session.session_key is None:
        request.session.save()
    record, _ = UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "method": method,
            "started_at": timezone.now(),
            "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        },
    )
    return record


def session_forget(session_key: str | None) -> None:
    """At sign-out: the session is gone, so is its index row."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@dataclass(frozen=True)
class ActiveSession:
    record: UserSession
    expires_at: datetime
    current: bool = False


def sessions_active(user, *, current_key: str | None = None) -> list[ActiveSession]:
    """The person's sessions that still open pages, newest first; rows of ended ones are pruned."""
    records = list(UserSession.objects.filter(user=user).order_by("-started_at"))
    expiries = dict(
        Session.objects.filter(
            session_key__in=[r.session_key for r in records], expire_date__gt=timezone.now()
        ).values_list("session_key", "expire_date")
    )
    lifetime_start = timezone.now() - timedelta(seconds=settings.SESSION_MAX_AGE)
    live = [r for r in records if r.session_key in expiries and r.started_at > lifetime_start]
    dead = [r.pk for r in records if r not in live]
    if dead:
        UserSession.objects.filter(pk__in=dead).delete()
    return [ActiveSession(r, expiries[r.session_key], r.session_key == current_key) for r in live]


@transaction.atomic
def session_end(*, record: UserSession, actor: Actor, origin: RequestOrigin | None = None) -> None:
    _session_store(record.session_key).delete()
    audit_record(
        actor=actor,
        action="session.ended",
        target_type="user",
        target_id=record.user_id,
        payload={
            "username": record.user.get_username(),
            "method": record.method,
            "started_at": record.started_at.isoformat(),
        },
        origin=origin,
    )
    record.delete()


@transaction.atomic
def sessions_end_all(*, user, actor: Actor, origin: RequestOrigin | None = None) -> int:
    """End every recorded session of the person (deactivation, or an admin's "end all")."""
    records = list(UserSession.objects.select_related("user").filter(user=user))
    for record in records:
        session_end(record=record, actor=actor, origin=origin)
    return len(records)
