"""What the review app tells other apps about decisions: two Django signals, sent after commit.

Other apps (callbacks to agents, digests, metrics) connect a receiver in their AppConfig.ready()
instead of reaching into review's code paths. Each signal is sent only after the transaction that
wrote the fact committed, and at least once: an outbox step re-driven after a killed worker may
send `decision_carried_out` again, so receivers must be idempotent (key on `decision_id` + `event`).
A receiver that raises is logged and does not undo or block anything (send_robust).

decision_recorded(sender="review", decision_id, draft_id, action, event)
    A person (or the system) decided a draft: the Decision row, its audit event and its outbox
    rows are committed; nothing has reached MultiMail yet.
    * action: "approve" | "reject" | "request_changes"
    * event: "draft.approved" | "draft.rejected" | "draft.changes_requested"

decision_carried_out(sender="review", decision_id, draft_id, action, event, final_email_id, multimail_status)
    MultiMail took the decision. For an approval with edits this is sent once the edited version
    is approved at MultiMail, with final_email_id the edited email's id; otherwise final_email_id
    is the draft's own email id. multimail_status is MultiMail's answer ("approved", "rejected", …).

draft_ready(sender="review", draft_id)
    A draft's content came in from MultiMail (a fetch or a refresh was committed): it can be shown
    and decided. Sent on every committed fetch, so receivers check the draft's status themselves.

email_event_recorded(sender="review", draft_id, event, at)
    MultiMail said a draft's email was sent, delivered or bounced (review/events.py), after the commit
    that recorded it. event: "draft.sent" | "draft.delivered" | "draft.bounced"; draft_id is the draft
    whose email it was (an edited version's: its edit_of names the original); at: when. Delivered and
    bounced are sent once per draft; sent each time MultiMail's message.sent arrives (it is recorded
    nowhere), so receivers key on (draft_id, event).

email_sent(sender="review", email_id, mailbox_id, draft_id, at)
    MultiMail's message.sent for ANY email of a mailbox we know, ours or not: a monitored mailbox
    sends without review, and oversight's spot checks sample those sends (review/events.py). Sent
    synchronously from the webhook's handler at every delivery (a redelivery repeats it), so
    receivers key on email_id. draft_id is None when the email is not one of our drafts. A receiver
    returns True when it took notice (the webhook is then recorded as processed, not ignored).

To build a payload, call `decision_facts(decision_id)` (below): a JSON-ready dict with the draft id,
MultiMail email id, conversation id and the decision (who, when, reason or feedback, edited or not,
the final text's hash).
"""

import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)

decision_recorded = Signal()
decision_carried_out = Signal()
email_event_recorded = Signal()
email_sent = Signal()
draft_ready = Signal()

EVENT_BY_ACTION = {
    "approve": "draft.approved",
    "reject": "draft.rejected",
    "request_changes": "draft.changes_requested",
}


def send_decision_recorded(*, decision_id: int, draft_id: int, action: str) -> None:
    """Call after commit (transaction.on_commit)."""
    _send(decision_recorded, decision_id=decision_id, draft_id=draft_id, action=action, event=EVENT_BY_ACTION[action])


def send_decision_carried_out(
    *, decision_id: int, draft_id: int, action: str, final_email_id: str, multimail_status: str
) -> None:
    """Call after the commit that recorded MultiMail's answer."""
    _send(
        decision_carried_out,
        decision_id=decision_id,
        draft_id=draft_id,
        action=action,
        event=EVENT_BY_ACTION[action],
        final_email_id=final_email_id,
        multimail_status=multimail_status,
    )


def send_draft_ready(*, draft_id: int) -> None:
    """Call after the commit that stored a fetch (review/ingest.py)."""
    _send(draft_ready, draft_id=draft_id)


# review/events.py's audit actions for MultiMail's later events, and the event each is to other apps.
EVENT_BY_EMAIL_ACTION = {
    "email.sent": "draft.sent",
    "email.delivered": "draft.delivered",
    "email.bounced": "draft.bounced",
}


def send_email_event_recorded(*, draft_id: int, action: str, at) -> None:
    """Call after commit; actions without an event (a reply) are not announced."""
    if action in EVENT_BY_EMAIL_ACTION:
        _send(email_event_recorded, draft_id=draft_id, event=EVENT_BY_EMAIL_ACTION[action], at=at)


def send_email_sent(*, email_id: str, mailbox_id: str, draft_id: int | None, at) -> bool:
    """Tell other apps an email of `mailbox_id` was sent; True when a receiver took notice."""
    answers = email_sent.send_robust(
        sender="review", email_id=email_id, mailbox_id=mailbox_id, draft_id=draft_id, at=at
    )
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            log.error("a review signal receiver failed", extra={"receiver": repr(receiver), "error": repr(answer)})
    return any(answer is True for _, answer in answers)


def _send(signal: Signal, **kwargs) -> None:
    for receiver, answer in signal.send_robust(sender="review", **kwargs):
        if isinstance(answer, Exception):
            log.error("a review signal receiver failed", extra={"receiver": repr(receiver), "error": repr(answer)})


def decision_facts(decision_id: int) -> dict:
    """What an agent is told about a decision: JSON-ready, the same for callbacks and polling.

    {"draft_id", "email_id" (the original), "final_email_id" (the edited one when edited),
    "conversation_id", "decision": {"id", "action", "reviewer": {"username", "name"},
    "decided_at" (ISO 8601), "reason" (the rejection reason or the feedback), "edited",
    "final_content_hash", "multimail_status", "origin"}}
    """
    from reviewqueue.review.models import Decision

    return decision_facts_of(Decision.objects.select_related("draft", "edit").get(pk=decision_id))


def decision_facts_of(decision) -> dict:
    """decision_facts for a Decision already loaded (its draft and edit read when not loaded with it)."""
    draft = decision.draft
    edit = getattr(decision, "edit", None)
    final_email_id = (edit.edited_email_id if edit else "") or draft.email_id
    return {
        "draft_id": draft.pk,
        "email_id": draft.email_id,
        "final_email_id": final_email_id,
        "conversation_id": draft.conversation_id,
        "decision": {
            "id": decision.pk,
            "action": decision.action,
            "reviewer": {"username": decision.reviewer_username, "name": decision.reviewer_name},
            "decided_at": decision.decided_at.isoformat(),
            "reason": decision.reason,
            "edited": edit is not None,
            "final_content_hash": edit.edited_content_hash if edit else decision.content_hash,
            "multimail_status": decision.carried_out_status,
            "origin": decision.origin,  # web, api, intercom, slack, or system (e.g. an expiry)
        },
    }
