"""Four-eyes: in a mailbox whose policy requires 2 approvals, an approval is first recorded, and only a
second approval by someone else becomes the draft's decision (and its one decide call).

`four_eyes_gate` runs inside draft_decide's transaction, with the draft's row locked, after its
guards: concurrent approvers serialize on that lock, so the first approval is recorded once and the
second is decided once (the unique Decision.draft backs it up). A rejection by anyone goes through at
once and ends the draft.
"""

from dataclasses import dataclass

from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.review.models import Claim, Decision, Draft
from reviewqueue.sla.errors import FirstApprovalWithEdit, SameApproverTwice
from reviewqueue.sla.models import FirstApproval, MailboxPolicy


@dataclass(frozen=True)
class Gate:
    """What draft_decide does next: decide with `reason`, or, when `first_approval` is set, nothing more
    (this approval was the first of two, recorded; the caller raises AwaitingSecondApproval after commit)."""

    reason: str
    first_approval: FirstApproval | None = None


def approvals_required(mailbox_id: str) -> int:
    # [:1] rather than first(): mailbox_id is unique, and first() adds an ORDER BY to compile.
    found = MailboxPolicy.objects.filter(mailbox_id=mailbox_id).values_list("approvals_required", flat=True)[:1]
    return next(iter(found), None) or 1


def four_eyes_gate(
    *,
    draft: Draft,
    reviewer,
    action: str,
    reason: str,
    origin: str,
    shown_snapshot_id: int | None,
    request_origin: RequestOrigin,
    edited: bool = False,
) -> Gate:
    """Call with the draft row locked. Raises SameApproverTwice when the first approver approves again
    (with an edit or without), FirstApprovalWithEdit when the first of two approvals carries an edit."""
    if action != Decision.Action.APPROVE or approvals_required(draft.mailbox_id) < 2:
        return Gate(reason)  # a first approval left over from a 2-approval policy since relaxed is moot
    first = FirstApproval.objects.filter(draft_id=draft.pk).first()
    if first is None:
        if edited:
            raise FirstApprovalWithEdit()
        return Gate(reason, _first_approval_record(draft, reviewer, origin, shown_snapshot_id, request_origin))
    if first.approver_id == reviewer.pk:
        raise SameApproverTwice(first)
    return Gate(second_approval_reason(first, reason))


def approver_text(label: str, email: str) -> str:
    return f"{label} <{email}>" if email else label


def second_approval_reason(first: FirstApproval, reason: str) -> str:
    """The decision's reason names the first approver (the decision itself names the second), so the
    decision record, MultiMail's reason and the Intercom note carry both."""
    who = approver_text(first.approver_label, first.approver_email)
    text = f"second approval (four-eyes); first approval by {who} at {first.approved_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"{text}; {reason}" if reason else text


def _first_approval_record(draft, reviewer, origin, shown_snapshot_id, request_origin) -> FirstApproval:
    now = timezone.now()
    first = FirstApproval.objects.create(
        draft=draft,
        approver=reviewer,
        approver_username=reviewer.get_username(),
        approver_name=reviewer.get_full_name(),
        approver_email=reviewer.email or "",
        approved_at=now,
        origin=origin,
        content_hash=draft.content_hash,
        snapshot_id=shown_snapshot_id,
        ip=request_origin.ip,
        user_agent=(request_origin.user_agent or "")[:512],
    )
    # The first approver lets go, so a second person can take it; the queue's poll sees the change.
    Claim.objects.filter(draft_id=draft.pk).delete()
    Draft.objects.filter(pk=draft.pk).update(updated_at=now)
    audit_record(
        actor=Actor.person(reviewer),
        action="draft.first_approval",
        target_type="draft",
        target_id=draft.pk,
        payload={
            "draft_id": draft.pk,
            "email_id": draft.email_id,
            "mailbox_id": draft.mailbox_id,
            "first_approval_id": first.pk,
            "approver": {"id": reviewer.pk, "username": first.approver_username, "name": first.approver_name},
            "content_hash": draft.content_hash,
            "snapshot_id": shown_snapshot_id,
            "origin": origin,
        },
        origin=request_origin,
        at=now,
    )
    return first
