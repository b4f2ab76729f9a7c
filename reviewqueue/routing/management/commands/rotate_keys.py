from django.core.management.base import BaseCommand, CommandError

from reviewqueue.audit.services import Actor, audit_checkpoint_store
from reviewqueue.callbacks.services import callback_secrets_reencrypt
from reviewqueue.routing.crypto import webhook_secrets_reencrypt
from reviewqueue.sla.keys import slack_webhooks_reencrypt


class Command(BaseCommand):
    help = (
        "After a key change (the old key moved to SECRET_KEY_FALLBACKS or a *_FALLBACKS setting): re-encrypt "
        "the stored webhook and callback secrets and the SLA policies' Slack webhook URLs under the current key "
        "and sign the audit log's head with the current key. "
        "Exit 1 when a stored secret no key decrypts."
    )

    def handle(self, *args, **options):
        rotation = webhook_secrets_reencrypt(actor=Actor.system("rotate_keys"))
        self.stdout.write(f"webhook secrets re-encrypted under the current key: {len(rotation.reencrypted)}")
        callbacks = callback_secrets_reencrypt(actor=Actor.system("rotate_keys"))
        self.stdout.write(f"callback secrets re-encrypted under the current key: {len(callbacks.reencrypted)}")
        slack = slack_webhooks_reencrypt(actor=Actor.system("rotate_keys"))
        self.stdout.write(f"Slack webhook URLs re-encrypted under the current key: {len(slack.reencrypted)}")
        checkpoint = audit_checkpoint_store()
        if checkpoint is not None:
            self.stdout.write(f"audit checkpoint signed with key {checkpoint.key_id} at #{checkpoint.seq}")
        problems = []
        if rotation.unreadable:
            problems.append(
                "no key decrypts the webhook secret of "
                + ", ".join(rotation.unreadable)
                + ": list the old key in FIELD_ENCRYPTION_KEY_FALLBACKS or SECRET_KEY_FALLBACKS and run again, "
                "or subscribe those mailboxes' webhooks again"
            )
        if callbacks.unreadable:
            problems.append(
                "no key decrypts the callback secret of intake token(s) "
                + ", ".join(callbacks.unreadable)
                + ": list the old key as above and run again, or give each a new secret on its callback page"
            )
        if slack.unreadable:
            problems.append(
                "no key decrypts the Slack webhook URL of mailbox(es) "
                + ", ".join(slack.unreadable)
                + ": list the old key as above and run again, or set each mailbox's Slack webhook again"
            )
        if problems:
            raise CommandError("; ".join(problems))
