"""`manage.py rotate_keys` re-encrypts the mailboxes' stored Slack webhook URLs too: after it the old key
can be dropped and escalations still reach Slack; each run is audited; one no key opens is named, exit 1."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.sla.models import MailboxPolicy
from reviewqueue.sla.policy import PolicyChanges, policy_set, slack_webhook_url

pytestmark = pytest.mark.django_db

OLD_SECRET_KEY = "an-old-secret-key-that-is-long-enough-0123456789"
NEW_SECRET_KEY = "a-new-secret-key-that-is-long-enough-9876543210"
SLACK_URL = "https://127.0.0.1/services/T000/B000/secretpart"


@pytest.fixture
def lenient(settings):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True  # the URL is on loopback; nothing is posted to it


def with_slack(mailbox_id: str) -> None:
    policy_set(mailbox_id=mailbox_id, changes=PolicyChanges(slack_webhook_url=SLACK_URL), actor=Actor.system("test"))


def test_the_old_key_can_be_dropped_after_rotate_keys(settings, lenient):
    settings.SECRET_KEY = OLD_SECRET_KEY
    with_slack("mbx_1")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, [OLD_SECRET_KEY]
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert "Slack webhook URLs re-encrypted under the current key: 1" in out.getvalue()
    event = AuditEvent.objects.get(action="keys.slack_webhooks_reencrypted")
    assert event.payload == {"reencrypted": ["mbx_1"], "unreadable": []}
    settings.SECRET_KEY_FALLBACKS = []
    assert slack_webhook_url(MailboxPolicy.objects.get(mailbox_id="mbx_1")) == SLACK_URL


def test_a_slack_webhook_no_key_opens_is_named_with_exit_1(lenient):
    with_slack("mbx_lost")
    with_slack("mbx_kept")
    MailboxPolicy.objects.filter(mailbox_id="mbx_lost").update(
        slack_webhook_encrypted=Fernet(Fernet.generate_key()).encrypt(SLACK_URL.encode()).decode()
    )
    with pytest.raises(CommandError, match=r"Slack webhook URL of mailbox\(es\) mbx_lost:"):
        call_command("rotate_keys", stdout=StringIO())
    event = AuditEvent.objects.get(action="keys.slack_webhooks_reencrypted")
    assert event.payload == {"reencrypted": ["mbx_kept"], "unreadable": ["mbx_lost"]}
