"""`make run` starts the Slack sandbox beside the app and points the demo's mailboxes at its channel."""

import sys

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.routing.models import Mailbox
from reviewqueue.sandbox import local
from reviewqueue.sandbox.slack import defaults
from reviewqueue.slack.channels import channel_of, slack_channel_set


def test_sandbox_mode_starts_the_slack_sandbox_posting_clicks_to_the_interactivity_url(settings):
    settings.SANDBOX = True
    settings.SLACK_API_URL = defaults.API_URL
    argv = local.sandbox_processes(sys.executable)["slack-sandbox"]
    assert argv[:3] == [sys.executable, "-m", "reviewqueue.sandbox.slack"]
    assert argv[argv.index("--port") + 1] == str(defaults.PORT)
    assert argv[argv.index("--interactions-url") + 1].endswith("/integrations/slack/interactions")


def test_a_real_slack_configured_starts_no_slack_sandbox(settings):
    settings.SANDBOX = True
    settings.SLACK_API_URL = "https://slack.com/api"
    assert "slack-sandbox" not in local.sandbox_processes(sys.executable)


@pytest.mark.django_db
def test_the_demo_mailboxes_without_a_channel_post_to_the_sandbox_channel_and_a_chosen_one_stays(settings):
    settings.SANDBOX = True
    settings.SLACK_API_URL = defaults.API_URL
    Mailbox.objects.create(mailbox_id="mb_a", address="a@example.com")
    Mailbox.objects.create(mailbox_id="mb_b", address="b@example.com")
    slack_channel_set(mailbox_id="mb_b", channel="#billing-reviews", actor=Actor.system("t"))
    local.seed_slack_channels()
    local.seed_slack_channels()
    assert (channel_of("mb_a"), channel_of("mb_b")) == (defaults.CHANNEL, "#billing-reviews")
    assert AuditEvent.objects.filter(action="slack.channel_set").count() == 2
