"""The last step of every sign-in (password, password and code, single sign-on), and the state kept
between a correct password and the second factor.

A password that needs a code does not sign the person in: the session only remembers, for a few
minutes, whose password was right (PENDING_KEY); the code page finishes the sign-in.
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.db import transaction
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from reviewqueue.accounts import throttle
from reviewqueue.accounts.http import client_ip, request_origin
from reviewqueue.accounts.middleware import STARTED_AT_KEY
from reviewqueue.accounts.sessions import session_record
from reviewqueue.audit.services import Actor, audit_record

PENDING_KEY = "_two_factor_pending"
PENDING_SECONDS = 300
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


def is_break_glass(user) -> bool:
    return bool(settings.BREAK_GLASS_USERNAME) and user.get_username() == settings.BREAK_GLASS_USERNAME


def password_sign_in_refused(username: str) -> bool:
    """OIDC_ONLY: local passwords are off for everyone but the break-glass admin."""
    return settings.OIDC_ONLY and username != settings.BREAK_GLASS_USERNAME


def complete_login(request, user, *, method: str, backend: str = PASSWORD_BACKEND) -> None:
    """Sign `user` in: a new session, its lifetime counted from now, indexed for admins, audited."""
    with transaction.atomic():
        login(request, user, backend=backend)
        request.session[STARTED_AT_KEY] = int(time.time())  # the absolute lifetime counts from here
        session_record(request, user, method)
        origin = request_origin(request)
        audit_record(
            actor=Actor.person(user),
            action="login",
            target_type="user",
            target_id=user.pk,
            payload={"method": method},
            origin=origin,
        )
        if method != "sso" and is_break_glass(user):
            audit_record(
                actor=Actor.person(user),
                action="login.break_glass",
                target_type="user",
                target_id=user.pk,
                payload={"username": user.get_username(), "method": method, "oidc_only": settings.OIDC_ONLY},
                origin=origin,
            )
    throttle.login_succeeded(user.get_username(), client_ip(request))


def redirect_next(request, next_url: str | None):
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return redirect(next_url)
    return redirect(settings.LOGIN_REDIRECT_URL)


def pending_start(request, user, next_url: str) -> None:
    request.session.cycle_key()  # a new session id for the half-signed-in state
    request.session[PENDING_KEY] = {"user_id": user.pk, "since": int(time.time()), "next": next_url or ""}


def pending_user(request):
    """The person whose password was right a moment ago and who still owes a code, or None."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = get_user_model().objects.filter(pk=pending.get("user_id"), is_active=True).first()
    return user


def pending_next(request) -> str:
    return (request.session.get(PENDING_KEY) or {}).get("next", "")


def pending_clear(request) -> None:
    request.session.pop(PENDING_KEY, None)
