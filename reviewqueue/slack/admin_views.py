"""The Slack channel form on the mailbox page (Admin → Mailboxes → one mailbox): admins only, like that page."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.audit.services import Actor
from reviewqueue.routing.models import Mailbox
from reviewqueue.slack.channels import ChannelInvalid, slack_channel_set


@role_required("admin")
@require_POST
def mailbox_slack_channel(request, pk: int):
    mailbox = get_object_or_404(Mailbox, pk=pk)
    channel = request.POST.get("channel", "")
    try:
        changed = slack_channel_set(
            mailbox_id=mailbox.mailbox_id,
            channel=channel,
            actor=Actor.person(request.user),
            origin=request_origin(request),
        )
    except ChannelInvalid as invalid:
        context = {"mailbox": mailbox, "error": str(invalid), "typed": channel}
        return render(request, "slack/channel_invalid.html", context, status=400)
    if changed:
        messages.success(request, "Slack channel saved." if channel.strip() else "Slack channel removed.")
    return redirect("routing:mailbox", pk=pk)
