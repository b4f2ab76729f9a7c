"""Reads of people's tokens and sign-in security that the profile page and the admin's pages share."""

from dataclasses import dataclass

from django.conf import settings

from reviewqueue.accounts.mfa import recovery_codes_left, two_factor_enrolled, two_factor_required
from reviewqueue.accounts.models import ApiToken
from reviewqueue.accounts.sessions import sessions_active
from reviewqueue.audit.models import AuditEvent


@dataclass(frozen=True)
class ListedToken:
    token: ApiToken
    # Who issued it, as the audit log recorded: the owner, a command in a shell, or (before tokens were
    # their owner's alone, issue 16) an admin, which is a token to revoke.
    issued_by: str
    issued_by_someone_else: bool


def api_tokens_listed(user) -> list[ListedToken]:
    """The person's personal tokens, newest first, each with who issued it."""
    tokens = list(ApiToken.objects.filter(user=user).order_by("-created_at"))
    issued = AuditEvent.objects.filter(
        action="api_token.issued", target_type="api_token", target_id__in=[str(t.pk) for t in tokens]
    ).values_list("target_id", "actor_type", "actor_id", "actor_label")
    issuers = {target: (actor_type, actor_id, label) for target, actor_type, actor_id, label in issued}
    listed = []
    for token in tokens:
        actor_type, actor_id, label = issuers.get(str(token.pk), ("", "", ""))
        someone_else = actor_type == AuditEvent.ActorType.PERSON and actor_id != str(user.pk)
        listed.append(ListedToken(token, label or "unknown", someone_else))
    return listed


def person_security(user) -> dict:
    """What an admin sees of a person's sign-in: two-factor, single sign-on links, active sessions."""
    return {
        "enrolled": two_factor_enrolled(user),
        "required": two_factor_required(user),
        "recovery_codes_left": recovery_codes_left(user),
        "sso_identities": list(user.sso_identities.all()),
        "session_count": len(sessions_active(user)),
    }


BREAK_GLASS_SHOWN = 20


def break_glass_summary() -> dict:
    """The break-glass admin and their latest sign-ins (each audited as login.break_glass)."""
    uses = AuditEvent.objects.filter(action="login.break_glass").order_by("-seq")[:BREAK_GLASS_SHOWN]
    return {"username": settings.BREAK_GLASS_USERNAME, "oidc_only": settings.OIDC_ONLY, "uses": list(uses)}
