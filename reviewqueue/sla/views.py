"""The policy form on the mailbox page (Admin → Mailboxes → one mailbox): admins only, like that page."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.audit.services import Actor
from reviewqueue.routing.models import Mailbox
from reviewqueue.sla.forms import MailboxPolicyForm
from reviewqueue.sla.policy import PolicyInvalid, policy_set


@role_required("admin")
@require_POST
def mailbox_policy(request, pk: int):
    mailbox = get_object_or_404(Mailbox, pk=pk)
    form = MailboxPolicyForm(request.POST)
    if form.is_valid():
        try:
            policy_set(
                mailbox_id=mailbox.mailbox_id,
                changes=form.changes(),
                actor=Actor.person(request.user),
                origin=request_origin(request),
            )
        except PolicyInvalid as error:
            form.add_error(_form_field(error.field), str(error))
        else:
            messages.success(request, "Policy saved.")
            return redirect("routing:mailbox", pk=pk)
    return render(request, "sla/policy_invalid.html", {"mailbox": mailbox, "form": form}, status=400)


def _form_field(name: str) -> str | None:
    return {"slack_webhook": "slack_webhook", "notify_email": "notify_emails", "approvals": "approvals_required"}.get(
        name
    )
