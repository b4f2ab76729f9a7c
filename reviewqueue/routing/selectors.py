"""Reads shared by intake, the admin pages and the MultiMail webhook receiver."""

from reviewqueue.routing.crypto import SecretUnreadable, secret_decrypt
from reviewqueue.routing.models import Mailbox, RoutingRuleSet


def ruleset_active() -> RoutingRuleSet | None:
    """The newest saved version is the active one."""
    return RoutingRuleSet.objects.order_by("-version").first()


def mailboxes_with_unreadable_webhook_secret() -> list[str]:
    """Mailboxes whose stored webhook secret no key we hold decrypts (for the health page): the
    receiver refuses their webhooks until the old key is listed in a *_FALLBACKS setting again, or
    the webhook is subscribed again."""
    stored = Mailbox.objects.exclude(webhook_secret_encrypted="").order_by("mailbox_id")
    unreadable = []
    for mailbox_id, token in stored.values_list("mailbox_id", "webhook_secret_encrypted"):
        try:
            secret_decrypt(token)
        except SecretUnreadable:
            unreadable.append(mailbox_id)
    return unreadable
