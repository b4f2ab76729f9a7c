"""{% mailbox_policy_card mailbox %}: the mailbox page's policy form and escalation problems (sla's part of it)."""

from django import template

from reviewqueue.sla.forms import MailboxPolicyForm
from reviewqueue.sla.models import FirstApproval
from reviewqueue.sla.policy import policy_of
from reviewqueue.sla.selectors import delivery_problems

register = template.Library()


@register.inclusion_tag("sla/_policy_card.html", takes_context=True)
def mailbox_policy_card(context, mailbox, form=None):
    policy = policy_of(mailbox.mailbox_id)
    return {
        "mailbox": mailbox,
        "policy": policy,
        "form": form or MailboxPolicyForm.for_policy(policy),
        "problems": delivery_problems(mailbox.mailbox_id),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("sla/_four_eyes_notice.html", takes_context=True)
def four_eyes_notice(context, draft):
    """On the draft page of a pending draft with a first approval: who gave it, and that a second is needed."""
    # [:1] rather than first(): one per draft, and the ORDER BY first() adds is compiled on every draft page.
    first = next(iter(FirstApproval.objects.filter(draft_id=draft.pk)[:1]), None) if draft.is_pending else None
    user = getattr(context.get("request"), "user", None)
    return {"first": first, "mine": first is not None and user is not None and first.approver_id == user.pk}
