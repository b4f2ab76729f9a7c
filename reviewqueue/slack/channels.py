"""Each mailbox may name the Slack channel its review requests go to; set or cleared, audited."""

import re

from django.db import transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.slack.models import SlackChannel

# A channel id (C0123ABC) or a name (#reviews, reviews-billing): Slack takes either for chat.postMessage.
CHANNEL = re.compile(r"#?[a-z0-9][a-z0-9_-]{0,79}|[CGD][A-Z0-9]{2,79}")


class ChannelInvalid(ValueError):
    pass


def channel_of(mailbox_id: str) -> str:
    return SlackChannel.objects.filter(mailbox_id=mailbox_id).values_list("channel", flat=True).first() or ""


def slack_channel_set(*, mailbox_id: str, channel: str, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    """Post `mailbox_id`'s review requests to `channel` ("": none). False when nothing changed."""
    channel = (channel or "").strip()
    if channel and not CHANNEL.fullmatch(channel):
        raise ChannelInvalid("a Slack channel is an id such as C0123ABC or a name such as #reviews")
    before = channel_of(mailbox_id)
    if channel.lstrip("#") == before.lstrip("#") and channel.startswith("#") == before.startswith("#"):
        return False
    with transaction.atomic():
        if channel:
            SlackChannel.objects.update_or_create(
                mailbox_id=mailbox_id, defaults={"channel": channel, "updated_at": timezone.now()}
            )
        else:
            SlackChannel.objects.filter(mailbox_id=mailbox_id).delete()
        audit_record(
            actor=actor,
            action="slack.channel_set" if channel else "slack.channel_cleared",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={"mailbox_id": mailbox_id, "channel": channel, "before": before},
            origin=origin,
        )
    return True
