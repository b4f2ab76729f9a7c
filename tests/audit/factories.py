"""Audit events shaped like the ones the review app writes (interfaces.md: the draft.decided payload)."""

from datetime import UTC, datetime, timedelta

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record


def record_decision(
    *,
    decision_id: int,
    draft_id: int,
    reviewer: str = "rita",
    action: str = "approve",
    reason: str = "Looks right",
    mailbox_id: str = "mbx_support",
    conversation_id: str = "conv_1",
    waited: timedelta = timedelta(minutes=5),
    snapshot_id=None,
    markdown: str = "Hello **there**",
):
    decided_at = datetime.now(UTC)
    return audit_record(
        actor=Actor("person", "1", reviewer),
        action="draft.decided",
        target_type="draft",
        target_id=draft_id,
        payload={
            "decision_id": decision_id,
            "draft_id": draft_id,
            "email_id": f"em_{draft_id}",
            "action": action,
            "reason": reason,
            "reviewer": {"id": 1, "username": reviewer, "name": reviewer.title(), "email": f"{reviewer}@example.com"},
            "decided_at": decided_at.isoformat(),
            "content_hash": "c" * 64,
            "draft": {
                "from": "support@example.com",
                "to": ["customer@example.org"],
                "cc": [],
                "subject": f"Re: order {draft_id}",
                "markdown": markdown,
                "attachments": [],
            },
            "snapshot_id": snapshot_id,
            "conversation_id": conversation_id,
            "mailbox_id": mailbox_id,
            "routing_version_id": 3,
            "draft_received_at": (decided_at - waited).isoformat(),
            "ip": "10.1.2.3",
            "user_agent": "Firefox/140",
        },
        origin=RequestOrigin("10.1.2.3", "Firefox/140"),
    )


def record_event(action: str, *, draft_id=None, actor: str = "poller", **payload):
    if draft_id is not None:
        payload.setdefault("draft_id", draft_id)
    return audit_record(
        actor=Actor.system(actor),
        action=action,
        target_type="draft" if draft_id is not None else "",
        target_id=draft_id if draft_id is not None else "",
        payload=payload,
    )


class ClockAt:
    """Stands in for datetime in reviewqueue.audit.services (monkeypatch): now() reads a chosen time."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self, tz=None):
        return self.moment.astimezone(tz)

    def __getattr__(self, name):
        return getattr(datetime, name)
