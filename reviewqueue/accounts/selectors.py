"""Reads of people's tokens that the profile page and the admin's person page share."""

from dataclasses import dataclass

from reviewqueue.accounts.models import ApiToken
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
