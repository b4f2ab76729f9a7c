"""Reads shared by intake, the admin pages and the MultiMail webhook receiver."""

from reviewqueue.routing.crypto import SecretUnreadable, secret_decrypt
from reviewqueue.routing.models import Mailbox, RoutingRuleSet


def ruleset_active() -> RoutingRuleSet | None:
    """The newest saved version is the active one."""
    return RoutingRuleSet.objects.order_by("-version").first()


def multimail_webhook_secrets() -> list[str]:
    """The signing secrets of the webhook subscriptions made from the mailboxes page.

    The MultiMail receiver checks a delivery against these as well as MULTIMAIL_WEBHOOK_SECRET.
    """
    secrets = []
    for stored in Mailbox.objects.exclude(webhook_secret_encrypted="").values_list(
        "webhook_secret_encrypted", flat=True
    ):
        try:
            secrets.append(secret_decrypt(stored))
        except SecretUnreadable:
            continue  # encrypted under an older key: that subscription must be renewed from the page
    return secrets
