"""What an agent is told about its draft: the callback bodies and the polling answer, one shape.

{"draft_id", "status", "email_id", "final_email_id", "conversation_id", "revision_of",
 "revision_number", "decision": {"id", "action", "reviewer": {"username", "name"}, "decided_at",
 "reason", "edited", "final_content_hash", "multimail_status"} | null,
 "email": {"sent_at", "delivered_at", "bounced_at", "bounce_type"}}

A callback wraps it as Standard Webhooks recommends: {"type": <event>, "timestamp": <when it
happened>, "data": <the above>}.
"""

import json
from datetime import datetime

from reviewqueue.review.models import Draft
from reviewqueue.review.signals import decision_facts_of


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def agent_draft(draft: Draft) -> Draft:
    """The draft the agent submitted: an edited copy (approve with edits) stands for its original."""
    while draft.edit_of_id is not None:
        draft = with_decision(Draft.objects).get(pk=draft.edit_of_id)
    return draft


def with_decision(drafts):
    """`drafts` (a Draft queryset) loading each draft's decision and its edit in the same query: what
    draft_state reads."""
    return drafts.select_related("decision__edit")


_DELIVERY_FIELDS = ("delivered_at", "bounced_at", "bounce_type")


def draft_state(draft: Draft, *, sent_at: datetime | None = None) -> dict:
    """The agent's view of `draft` (the one it submitted) now. Load `draft` with
    select_related("decision__edit") to spare the two reads of its decision and edit."""
    decision = getattr(draft, "decision", None)
    facts = decision_facts_of(decision) if decision is not None else None
    # Delivery and bounce are the final email's: the edited version's when there is one (only its three
    # fields read: a whole draft row costs more CPU to select and build than the query takes).
    edited = Draft.objects.filter(edit_of=draft).order_by("-pk").values(*_DELIVERY_FIELDS).first()
    delivery = edited or {field: getattr(draft, field) for field in _DELIVERY_FIELDS}
    return {
        "draft_id": draft.pk,
        "status": draft.status,
        "email_id": draft.email_id,
        "final_email_id": facts["final_email_id"] if facts else draft.email_id,
        "conversation_id": draft.conversation_id,
        "revision_of": draft.revision_of_id,
        "revision_number": draft.revision_number,
        "decision": facts["decision"] if facts else None,
        "email": {
            "sent_at": _when(sent_at),
            "delivered_at": _when(delivery["delivered_at"]),
            "bounced_at": _when(delivery["bounced_at"]),
            "bounce_type": delivery["bounce_type"],
        },
    }


def event_body(*, event: str, draft: Draft, happened_at: datetime, sent_at: datetime | None = None) -> str:
    """The callback's body, serialised once: the bytes signed and sent on every attempt."""
    envelope = {"type": event, "timestamp": happened_at.isoformat(), "data": draft_state(draft, sent_at=sent_at)}
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)
