"""Every write to people, roles and personal tokens. Each is audited in the same transaction."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from reviewqueue.accounts.models import ApiToken, ApiTokenPolicy, hash_token
from reviewqueue.accounts.roles import ROLES, forget_roles, role_group
from reviewqueue.accounts.sessions import sessions_end_all
from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record

User = get_user_model()


class UnknownRole(ValueError):
    pass


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; roles are {', '.join(ROLES)}")


@transaction.atomic
def user_ensure(
    *,
    username: str,
    actor: Actor,
    email: str = "",
    password: str | None = None,
    origin: RequestOrigin | None = None,
    at: datetime | None = None,
) -> tuple[User, bool]:
    """The user named `username`, created (unusable password unless one is given) when missing.

    `at`: when, if not now (history replayed in time order; see audit_record_many)."""
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        audit_record(
            actor=actor,
            action="user.created",
            target_type="user",
            target_id=user.pk,
            payload={"username": username, "email": email},
            origin=origin,
            at=at,
        )
    elif password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            actor=actor,
            action="user.password_set",
            target_type="user",
            target_id=user.pk,
            payload={"username": username},
            origin=origin,
        )
    return user, created


@transaction.atomic
def role_grant(
    *,
    user: User,
    role: str,
    actor: Actor,
    origin: RequestOrigin | None = None,
    at: datetime | None = None,
    reason: str = "",
) -> bool:
    """Give `user` the role; False when they already held it. `at`: as for user_ensure; `reason`: why, when
    not an admin's choice (single sign-on: the provider's groups)."""
    _check_role(role)
    group = role_group(role)
    if user.groups.filter(pk=group.pk).exists():
        return False
    user.groups.add(group)
    forget_roles(user)
    audit_record(
        actor=actor,
        action="role.granted",
        target_type="user",
        target_id=user.pk,
        payload={"username": user.get_username(), "role": role, **({"reason": reason} if reason else {})},
        origin=origin,
        at=at,
    )
    return True


@transaction.atomic
def role_revoke(*, user: User, role: str, actor: Actor, origin: RequestOrigin | None = None, reason: str = "") -> bool:
    _check_role(role)
    group = role_group(role)
    if not user.groups.filter(pk=group.pk).exists():
        return False
    user.groups.remove(group)
    forget_roles(user)
    audit_record(
        actor=actor,
        action="role.revoked",
        target_type="user",
        target_id=user.pk,
        payload={"username": user.get_username(), "role": role, **({"reason": reason} if reason else {})},
        origin=origin,
    )
    return True


class TokenIssueRefused(PermissionError):
    """A personal token is issued by its owner only: nobody else may hold a key that decides as them."""


@transaction.atomic
def api_token_issue(
    *, user: User, name: str, actor: Actor, days: int | None = None, origin: RequestOrigin | None = None
) -> tuple[ApiToken, str]:
    """A new personal API token lasting `days` (default and maximum: ApiTokenPolicy); the raw key is
    returned once and never stored.

    `actor` is the owner on their profile page, or the system for `issue_token`, which the owner runs
    in their own shell. Any other person is refused (raises TokenIssueRefused); a bad `days`, ValueError.
    """
    if actor != Actor.person(user) and actor.type != AuditEvent.ActorType.SYSTEM:
        raise TokenIssueRefused("personal API tokens are issued by their owner only")
    expires_at = timezone.now() + ApiTokenPolicy.current().lifetime(days)
    raw = ApiToken.new_raw_key()
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_token(raw), key_hint=raw[:10], expires_at=expires_at
    )
    audit_record(
        actor=actor,
        action="api_token.issued",
        target_type="api_token",
        target_id=token.pk,
        payload={
            "username": user.get_username(),
            "name": name,
            "hint": token.key_hint,
            "expires_at": expires_at.isoformat(),
        },
        origin=origin,
    )
    return token, raw


@transaction.atomic
def api_token_policy_set(*, max_days: int, actor: Actor, origin: RequestOrigin | None = None) -> ApiTokenPolicy:
    """Set the longest lifetime owners may give their personal tokens (tokens already issued keep theirs)."""
    if not 1 <= max_days <= ApiTokenPolicy.LIMIT_DAYS:
        raise ValueError(f"the maximum is 1 to {ApiTokenPolicy.LIMIT_DAYS} days ({max_days} given)")
    old = ApiTokenPolicy.current().max_days
    policy, _ = ApiTokenPolicy.objects.update_or_create(pk=1, defaults={"max_days": max_days})
    audit_record(
        actor=actor,
        action="api_token.policy_set",
        target_type="api_token_policy",
        target_id=policy.pk,
        payload={"old": {"max_days": old}, "new": {"max_days": max_days}},
        origin=origin,
    )
    return policy


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if changed:
        audit_record(
            actor=actor,
            action="api_token.revoked",
            target_type="api_token",
            target_id=token.pk,
            payload={"username": token.user.get_username(), "name": token.name},
            origin=origin,
        )
    return bool(changed)


@transaction.atomic
def user_deactivate(*, user: User, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    """Stop `user` logging in; their sessions end and their API tokens are revoked at once (each audited);
    their history stays. False if already inactive."""
    changed = _user_set_active(user=user, active=False, action="user.deactivated", actor=actor, origin=origin)
    if changed:
        for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
            api_token_revoke(token=token, actor=actor, origin=origin)
        sessions_end_all(user=user, actor=actor, origin=origin)
    return changed


def user_reactivate(*, user: User, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    return _user_set_active(user=user, active=True, action="user.reactivated", actor=actor, origin=origin)


@transaction.atomic
def _user_set_active(*, user: User, active: bool, action: str, actor: Actor, origin: RequestOrigin | None) -> bool:
    changed = User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
    if changed:
        user.is_active = active
        audit_record(
            actor=actor,
            action=action,
            target_type="user",
            target_id=user.pk,
            payload={"username": user.get_username(), "old": {"is_active": not active}, "new": {"is_active": active}},
            origin=origin,
        )
    return bool(changed)
