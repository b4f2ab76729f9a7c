"""The mailbox page's Slack card: admins set or clear the channel (audited); bad values are a 400 saying why."""

import pytest
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent
from reviewqueue.routing.models import Mailbox
from reviewqueue.slack.channels import channel_of
from reviewqueue.slack.models import SlackDelivery
from tests.review.page_helpers import make_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox():
    return Mailbox.objects.create(mailbox_id="mbx_support", address="support@ours.example")


def save(client, mailbox, channel):
    return client.post(reverse("slack_admin:mailbox_channel", args=[mailbox.pk]), {"channel": channel})


def test_an_admin_sets_the_channel_on_the_mailbox_page_audited_as_them(admin_client_, admin_user, mailbox):
    answer = save(admin_client_, mailbox, "#billing-reviews")
    assert answer.status_code == 302 and answer["Location"] == reverse("routing:mailbox", args=[mailbox.pk])
    assert channel_of("mbx_support") == "#billing-reviews"
    event = AuditEvent.objects.get(action="slack.channel_set")
    assert (event.actor_id, event.payload["channel"]) == (str(admin_user.pk), "#billing-reviews")
    page = admin_client_.get(reverse("routing:mailbox", args=[mailbox.pk])).content.decode()
    assert 'value="#billing-reviews"' in page and "Slack channel for review requests" in page
    save(admin_client_, mailbox, "")
    assert channel_of("mbx_support") == ""


def test_a_value_that_is_not_a_channel_is_a_400_naming_what_one_is(admin_client_, mailbox):
    answer = save(admin_client_, mailbox, "not a channel!")
    assert answer.status_code == 400
    assert "a Slack channel is an id such as C0123ABC" in answer.content.decode()
    assert 'value="not a channel!"' in answer.content.decode()
    assert channel_of("mbx_support") == ""


def test_only_admins_may_set_it(reviewer_client, mailbox):
    assert save(reviewer_client, mailbox, "#reviews").status_code == 403
    assert channel_of("mbx_support") == ""


def test_the_mailbox_page_lists_slack_messages_that_fail(admin_client_, mailbox):
    draft = make_draft()
    SlackDelivery.objects.create(
        draft=draft,
        kind="post",
        channel="#x",
        status="failed",
        attempts=1,
        last_error="chat.postMessage: not_in_channel",
    )
    page = admin_client_.get(reverse("routing:mailbox", args=[mailbox.pk])).content.decode()
    assert "Slack messages that failed" in page and "chat.postMessage: not_in_channel" in page
