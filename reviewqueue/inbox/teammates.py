"""Who the Intercom teammate is in reviewqueue: the person an admin mapped their admin id to, else
the active person with the teammate's email.

Intercom names the teammate in every request (`admin`: id, name, email). An explicit mapping
(IntercomTeammate, set on the person's page) wins; otherwise the email is matched
case-insensitively to one active person. Only the reviewer role may decide, an auditor sees the
drafts. Two active people with the same email map to nobody: we cannot tell who is acting.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from reviewqueue.accounts.roles import user_roles
from reviewqueue.inbox.models import IntercomTeammate


@dataclass(frozen=True)
class Teammate:
    admin_id: str
    email: str
    person: object | None  # the active user the email maps to, if exactly one
    can_decide: bool  # the reviewer role
    can_see_drafts: bool  # reviewer or auditor

    @property
    def why_no_buttons(self) -> str:
        if self.person is None:
            shown = self.email or "no email"
            return f"Your Intercom email ({shown}) is not that of an active person in reviewqueue."
        if not self.can_see_drafts:
            return "You do not have the reviewer role in reviewqueue."
        return "You can see these drafts but not decide them: that needs the reviewer role in reviewqueue."


def teammate_for(admin: object) -> Teammate:
    """The reviewqueue person behind Intercom's `admin` object, with what they may do."""
    admin = admin if isinstance(admin, dict) else {}
    email = admin.get("email") if isinstance(admin.get("email"), str) else ""
    admin_id = str(admin.get("id") or "")
    person = _person_mapped(admin_id) or _person_with_email(email.strip())
    roles = user_roles(person) if person is not None else []
    return Teammate(
        admin_id=admin_id,
        email=email.strip(),
        person=person,
        can_decide="reviewer" in roles,
        can_see_drafts="reviewer" in roles or "auditor" in roles,
    )


def _person_mapped(admin_id: str):
    if not admin_id:
        return None
    mapping = IntercomTeammate.objects.select_related("person").filter(admin_id=admin_id).first()
    return mapping.person if mapping is not None and mapping.person.is_active else None


def _person_with_email(email: str):
    if not email:
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None
