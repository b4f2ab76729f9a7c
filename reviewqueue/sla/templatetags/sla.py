"""{% mailbox_policy_card mailbox %}: the mailbox page's policy form and escalation problems (sla's part of it)."""

from django import template

from reviewqueue.sla.forms import MailboxPolicyForm
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
