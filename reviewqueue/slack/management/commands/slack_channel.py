"""manage.py slack_channel MAILBOX_ID [CHANNEL | off] — show, set or clear a mailbox's Slack channel."""

from django.core.management.base import BaseCommand, CommandError

from reviewqueue.audit.services import Actor
from reviewqueue.slack.channels import ChannelInvalid, channel_of, slack_channel_set


class Command(BaseCommand):
    help = "Show, set or clear the Slack channel a mailbox's held drafts are posted to for review."

    def add_arguments(self, parser):
        parser.add_argument("mailbox_id", help="MultiMail's mailbox id")
        parser.add_argument("channel", nargs="?", help="a channel id (C0123ABC) or name (#reviews); off to clear")

    def handle(self, *args, mailbox_id, channel, **options):
        if channel is not None:
            try:
                changed = slack_channel_set(
                    mailbox_id=mailbox_id,
                    channel="" if channel == "off" else channel,
                    actor=Actor.system("slack_channel"),
                )
            except ChannelInvalid as invalid:
                raise CommandError(str(invalid)) from None
            if not changed:
                self.stdout.write("unchanged")
        self.stdout.write(f"{mailbox_id}: {channel_of(mailbox_id) or 'no Slack channel'}")
