"""`manage.py rotate_keys`'s part in the SLA app: the mailboxes' Slack incoming-webhook URLs, stored
encrypted (whoever holds one can post to the channel), re-encrypted under the current key."""

from django.db import transaction

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.routing.crypto import SecretsRotation, SecretUnreadable, secret_reencrypt
from reviewqueue.sla.models import MailboxPolicy


def slack_webhooks_reencrypt(*, actor: Actor) -> SecretsRotation:
    """Every stored Slack webhook URL under the current field-encryption key, audited. One no key we hold
    opens is left as it is and reported (by mailbox id): set the mailbox's Slack webhook again."""
    reencrypted, unreadable = [], []
    with transaction.atomic():
        stored = MailboxPolicy.objects.select_for_update().exclude(slack_webhook_encrypted="").order_by("mailbox_id")
        for policy in stored:
            try:
                token = secret_reencrypt(policy.slack_webhook_encrypted)
            except SecretUnreadable:
                unreadable.append(policy.mailbox_id)
                continue
            MailboxPolicy.objects.filter(pk=policy.pk).update(slack_webhook_encrypted=token)
            reencrypted.append(policy.mailbox_id)
        audit_record(
            actor=actor,
            action="keys.slack_webhooks_reencrypted",
            payload={"reencrypted": reencrypted, "unreadable": unreadable},
        )
    return SecretsRotation(reencrypted, unreadable)
