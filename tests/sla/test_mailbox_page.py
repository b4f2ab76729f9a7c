from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.sla.models import Escalation, EscalationDelivery, MailboxPolicy
from tests.conftest import logged_in_client
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def post_policy(client, mailbox, **fields):
    data = {"target": "30m", "expiry": "off", "approvals_required": "1", "slack_webhook": "", "notify_emails": ""}
    return client.post(f"/manage/sla/mailboxes/{mailbox.pk}/policy", {**data, **fields})


def test_an_admin_sets_the_policy_on_the_mailbox_page(admin_user, mailbox, settings):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    client = logged_in_client(admin_user)
    response = post_policy(
        client,
        mailbox,
        target="4h",
        expiry="2d",
        approvals_required="2",
        slack_webhook="https://127.0.0.1/services/T0/B0/abcdsecret",
        notify_emails="a@x.test, b@x.test",
    )
    assert response.status_code == 302
    policy = MailboxPolicy.objects.get(mailbox_id="mbx_1")
    assert (policy.target, policy.expiry, policy.approvals_required) == (timedelta(hours=4), timedelta(days=2), 2)
    assert policy.notify_emails == ["a@x.test", "b@x.test"] and policy.has_slack
    event = AuditEvent.objects.get(action="sla.policy_changed")
    assert event.actor_label == "ada" and event.payload["new"]["slack_webhook"] == "https://127.0.0.1/…cret"
    page = client.get(f"/manage/mailboxes/{mailbox.pk}/").content.decode()
    assert 'value="4h"' in page and 'value="2d"' in page and "https://127.0.0.1/…cret" in page
    assert "abcdsecret" not in page  # the URL is a secret: only its hint is shown
    kept = post_policy(client, mailbox, target="4h", expiry="2d", approvals_required="2")
    assert kept.status_code == 302 and MailboxPolicy.objects.get().has_slack  # empty URL: kept
    post_policy(client, mailbox, target="4h", remove_slack="1")
    assert not MailboxPolicy.objects.get().has_slack
    assert AuditEvent.objects.filter(action="sla.policy_changed").last().payload["new"]["slack_webhook"] == ""


def test_a_bad_value_is_a_400_naming_it_and_nothing_changes(admin_user, mailbox):
    response = post_policy(logged_in_client(admin_user), mailbox, target="half an hour")
    assert response.status_code == 400
    assert "bad duration &#x27;half an hour&#x27;" in response.content.decode()
    response = post_policy(logged_in_client(admin_user), mailbox, slack_webhook="https://10.0.0.5/hook")
    assert response.status_code == 400 and "private" in response.content.decode()
    assert not MailboxPolicy.objects.exists()


def test_only_admins_set_policies(reviewer, mailbox):
    assert post_policy(logged_in_client(reviewer), mailbox).status_code == 403


def test_failed_escalation_messages_are_shown_on_the_mailbox_page(admin_user, mailbox):
    from reviewqueue.sla.policy import PolicyChanges, policy_set

    policy_set(mailbox_id="mbx_1", changes=PolicyChanges(notify_emails=["a@x.test"]), actor=Actor.system("t"))
    draft = received_draft()
    escalation = Escalation.objects.create(
        draft=draft, mailbox_id="mbx_1", overdue_since=timezone.now(), target=timedelta(minutes=5)
    )
    EscalationDelivery.objects.create(
        escalation=escalation, channel="email", mailbox_id="mbx_1", status="failed", attempts=8, last_error="SMTP 554"
    )
    page = logged_in_client(admin_user).get(f"/manage/mailboxes/{mailbox.pk}/").content.decode()
    assert "Escalation messages that failed" in page and "SMTP 554" in page
