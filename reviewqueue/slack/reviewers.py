"""Who a Slack user is in reviewqueue: the active person with their verified Slack email.

Slack names a user id, never a person (contracts/slack.md): users.info gives the profile's email and
whether Slack confirmed it (`is_email_confirmed`); only a confirmed email is matched, case-
insensitively, to exactly one active person, and only the reviewer role may decide. What users.info
said is cached (USER_CACHE_SECONDS) so a busy channel does not call Slack for every click; the person
and their roles are read fresh each time, so a deactivated reviewer stops at once.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache

from reviewqueue.accounts.roles import user_roles
from reviewqueue.integrations.slack.client import SlackClient

USER_CACHE_SECONDS = 600


@dataclass(frozen=True)
class SlackReviewer:
    user_id: str
    email: str
    person: object | None  # the active user, when the verified email names exactly one
    can_decide: bool
    why_not: str  # "" when can_decide


def reviewer_for(user_id: str, client: SlackClient) -> SlackReviewer:
    """Raises SlackError when Slack cannot say who the user is (not cached, and users.info failed)."""
    email, confirmed = _slack_email(user_id, client)
    if not email:
        return SlackReviewer(
            user_id, "", None, False, "Slack shows no email for you, so reviewqueue cannot tell who you are."
        )
    if not confirmed:
        return SlackReviewer(user_id, email, None, False, f"Your Slack email ({email}) is not confirmed in Slack.")
    people = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    if len(people) != 1:
        why = f"Your Slack email ({email}) is not that of an active person in reviewqueue."
        return SlackReviewer(user_id, email, None, False, why)
    person = people[0]
    if "reviewer" not in user_roles(person):
        return SlackReviewer(user_id, email, person, False, "You do not have the reviewer role in reviewqueue.")
    return SlackReviewer(user_id, email, person, True, "")


def _slack_email(user_id: str, client: SlackClient) -> tuple[str, bool]:
    key = f"slack:user:{user_id}"
    cached = cache.get(key)
    if isinstance(cached, (list, tuple)) and len(cached) == 2:
        return cached[0], cached[1]
    user = client.user_info(user_id)
    found = ("" if user.deleted else user.email, user.email_confirmed and not user.deleted)
    cache.set(key, found, USER_CACHE_SECONDS)
    return found
