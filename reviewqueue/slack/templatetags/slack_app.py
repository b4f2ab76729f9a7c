"""{% mailbox_slack_card mailbox %}: the mailbox page's Slack channel form and the Slack messages that fail."""

from django import template

from reviewqueue.slack.channels import channel_of
from reviewqueue.slack.clients import slack_configured
from reviewqueue.slack.models import SlackDelivery

register = template.Library()
PROBLEMS_SHOWN = 20


@register.inclusion_tag("slack/_channel_card.html", takes_context=True)
def mailbox_slack_card(context, mailbox, error: str = "", typed: str | None = None):
    problems = (
        SlackDelivery.objects.filter(draft__mailbox_id=mailbox.mailbox_id, attempts__gt=0)
        .exclude(status=SlackDelivery.Status.DONE)
        .exclude(last_error="")
        .order_by("-created_at")[:PROBLEMS_SHOWN]
    )
    return {
        "mailbox": mailbox,
        "channel": channel_of(mailbox.mailbox_id) if typed is None else typed,
        "error": error,
        "configured": slack_configured(),
        "problems": list(problems),
        "csrf_token": context.get("csrf_token"),
    }
