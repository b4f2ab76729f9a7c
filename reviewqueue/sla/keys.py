"""`manage.py rotate_keys`'s part in the SLA app: the mailboxes' Slack incoming-webhook URLs, stored
encrypted (whoever holds one can post to the channel), re-encrypted under the current key."""

from reviewqueue.audit.services import Actor
from reviewqueue.routing.crypto import SecretsRotation, secrets_reencrypt
from reviewqueue.sla.models import MailboxPolicy


def slack_webhooks_reencrypt(*, actor: Actor) -> SecretsRotation:
    """Every stored Slack webhook URL under the current field-encryption key, audited. One no key we hold
    opens is left as it is and reported (by mailbox id): set the mailbox's Slack webhook again."""
    return secrets_reencrypt(
        MailboxPolicy.objects.exclude(slack_webhook_encrypted="").order_by("mailbox_id"),
        field="slack_webhook_encrypted",
        label=lambda policy: policy.mailbox_id,
        action="keys.slack_webhooks_reencrypted",
        actor=actor,
    )
