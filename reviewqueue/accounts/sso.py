"""Who a single sign-on is, and which roles they hold: set from the provider's claims at every sign-in.

A person is found by the provider's subject (SsoIdentity), else, once, by a verified email; otherwise a
new person is made, unless the claims map to no role: then nobody is made and the sign-in is refused.
Every role change is audited, with the provider's groups as the reason.
"""

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from reviewqueue.accounts.models import SsoIdentity
from reviewqueue.accounts.oidc import provider_groups, roles_from_claims
from reviewqueue.accounts.roles import ROLES, user_roles
from reviewqueue.accounts.services import role_grant, role_revoke, user_ensure
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record

User = get_user_model()
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class SsoRefused(Exception):
    """The provider vouched for someone reviewqueue will not let in; `reason` is one of REASONS."""

    REASONS = {
        "no_mapped_group": "None of your groups at the identity provider grants a role in reviewqueue.",
        "deactivated": "Your reviewqueue account is deactivated.",
        "email_unverified": (
            "A person here already uses your email address, and your identity provider has not verified it, "
            "so reviewqueue cannot tell that you are them."
        ),
        "email_ambiguous": "More than one person here uses your email address.",
    }

    def __init__(self, reason: str):
        super().__init__(self.REASONS[reason])
        self.reason = reason


@dataclass
class _Outcome:
    user: object | None = None
    refusal: str | None = None
    changes: list[str] = field(default_factory=list)


def sso_sign_in(*, claims: dict, issuer: str, origin: RequestOrigin | None = None):
    """The person these verified claims sign in as, with their roles set from the claims.

    Raises SsoRefused after committing what must hold even so (a person whose groups no longer map to
    a role loses their roles here and now, and the refusal is audited)."""
    with transaction.atomic():
        outcome = _apply(claims=claims, issuer=issuer, origin=origin)
    if outcome.refusal:
        raise SsoRefused(outcome.refusal)
    return outcome.user


def _apply(*, claims: dict, issuer: str, origin: RequestOrigin | None) -> _Outcome:
    subject = str(claims.get("sub") or "")
    email = str(claims.get("email") or "").strip()
    roles = roles_from_claims(claims)
    identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    user, refusal = (identity.user, None) if identity else _person_by_email(email, claims.get("email_verified") is True)
    if refusal is None and user is not None and not user.is_active:
        refusal = "deactivated"
    if refusal is None and not roles:
        refusal = "no_mapped_group"
        if user is not None:  # their groups were taken away at the provider: so are their roles here
            _roles_set(user, set(), claims, origin)
    if refusal:
        _refusal_record(refusal, claims, issuer, user, origin)
        return _Outcome(refusal=refusal)
    if user is None:
        user = _person_create(claims, email, origin)
    if identity is None:
        identity = _identity_link(user, issuer, subject, email, origin)
    SsoIdentity.objects.filter(pk=identity.pk).update(last_sign_in_at=timezone.now())
    _roles_set(user, roles, claims, origin)
    return _Outcome(user=user)


def _person_by_email(email: str, verified: bool) -> tuple[object | None, str | None]:
    """The existing person with this email, matched only when the provider verified it."""
    if not email:
        return None, None
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if not matches:
        return None, None
    if not verified:
        return None, "email_unverified"
    if len(matches) > 1:
        return None, "email_ambiguous"
    return matches[0], None


def _person_create(claims: dict, email: str, origin: RequestOrigin | None):
    username = _free_username(str(claims.get("preferred_username") or "") or email or f"sso-{claims['sub']}")
    user, _ = user_ensure(username=username, email=email, actor=Actor.system("single sign-on"), origin=origin)
    return user


def _free_username(wanted: str) -> str:
    base = _USERNAME_UNSAFE.sub("-", wanted)[:140] or "sso-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _identity_link(user, issuer: str, subject: str, email: str, origin: RequestOrigin | None) -> SsoIdentity:
    identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    audit_record(
        actor=Actor.system("single sign-on"),
        action="sso.linked",
        target_type="user",
        target_id=user.pk,
        payload={"username": user.get_username(), "issuer": issuer, "subject": subject, "email": email},
        origin=origin,
    )
    return identity


def _roles_set(user, wanted: set[str], claims: dict, origin: RequestOrigin | None) -> None:
    """Grant and revoke so the person holds exactly `wanted`; each change is its own audited event."""
    held = set(user_roles(user)) if not user.is_superuser else set()
    reason = f"identity provider groups: {', '.join(provider_groups(claims)) or 'none'}"
    actor = Actor.system("single sign-on")
    for role in ROLES:
        if role in wanted and role not in held:
            role_grant(user=user, role=role, actor=actor, origin=origin, reason=reason)
        elif role in held and role not in wanted:
            role_revoke(user=user, role=role, actor=actor, origin=origin, reason=reason)


def _refusal_record(reason: str, claims: dict, issuer: str, user, origin: RequestOrigin | None) -> None:
    audit_record(
        actor=Actor.anonymous(str(claims.get("email") or claims.get("sub") or "")),
        action="login.sso_refused",
        target_type="user" if user is not None else "",
        target_id=user.pk if user is not None else "",
        payload={"reason": reason, "issuer": issuer, "subject": claims.get("sub"), "groups": provider_groups(claims)},
        origin=origin,
    )
