"""Reads shared by intake, the admin pages and the MultiMail webhook receiver."""

import logging

from reviewqueue.routing.crypto import SecretUnreadable, secret_decrypt
from reviewqueue.routing.models import Mailbox, RoutingRuleSet

logger = logging.getLogger(__name__)


def ruleset_active() -> RoutingRuleSet | None:
    """The newest saved version is the active one."""
    return RoutingRuleSet.objects.order_by("-version").first()


def multimail_webhook_secrets() -> list[str]:
    """The signing secrets of the webhook subscriptions made from the mailboxes page.

    The MultiMail receiver checks a delivery against these as well as MULTIMAIL_WEBHOOK_SECRET.
    """
    secrets = []
    for mailbox_id, stored in _stored_webhook_secrets():
        try:
            secrets.append(secret_decrypt(stored))
        except SecretUnreadable as error:
            # Its mailbox's webhooks now fail verification: say so (the health page lists it too).
            logger.error("the webhook secret of mailbox %s cannot be decrypted: %s", mailbox_id, error)
    return secrets


def mailboxes_with_unreadable_webhook_secret() -> list[str]:
    """Mailboxes whose stored webhook secret no key we hold decrypts: their webhooks are refused
    until the old key is listed in a *_FALLBACKS setting again, or the subscription is renewed."""
    unreadable = []
    for mailbox_id, stored in _stored_webhook_secrets():
        try:
            secret_decrypt(stored)
        except SecretUnreadable:
            unreadable.append(mailbox_id)
    return unreadable


def _stored_webhook_secrets():
    return (
        Mailbox.objects.exclude(webhook_secret_encrypted="")
        .order_by("mailbox_id")
        .values_list("mailbox_id", "webhook_secret_encrypted")
    )
