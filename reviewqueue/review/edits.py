"""Edit, then approve: one decision ("approved with edits") carried out in three steps at MultiMail.

MultiMail has no edit endpoint, so the outbox's `decide` item of an edited approval runs
`edit_carry_out`, which does, each step recorded before the next and each safe to repeat:

1. send the edited version to the same mailbox (send key), with an idempotency key derived from the
   decision, the original's recipients and cc, and its tags plus `reviewqueue_edit_of` (the
   original's email id) and its thread id; the edited email's id is recorded on the DraftEdit;
2. cancel the original (send key); if it can no longer be cancelled, reject it with the reason
   "superseded by an edit by <reviewer>";
3. once the edited version is pending approval, approve it as the editor, only if its content hash
   is the edit's; otherwise it is left in the queue, flagged for a person (`flag_edit_mismatch`).

A worker killed between any two steps leaves the item to be re-driven: a repeated send gets
MultiMail's "already_sent" with the same id, a repeated cancel is idempotent, and a repeated
reject or approve answers 404/409 and is reconciled by reading the email back.

When the edited email arrives through the webhook or the poll, the fetch asks `edited_version_fields`
whether it is one: then it never becomes a new draft to review, and its `decide` item is nudged.
This module never imports the outbox or ingest (they call it); it raises EditWait and EditRefused,
and MultiMail's own errors, which the outbox translates into its retry policy.
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.integrations.multimail import statuses
from reviewqueue.review import enqueue
from reviewqueue.review.errors import InvalidDecision
from reviewqueue.review.flags import content_hash
from reviewqueue.review.models import Decision, Draft, DraftEdit, OutboxItem, multimail_status_to_store
from reviewqueue.review.redline import edit_diff

EDIT_OF_TAG = "reviewqueue_edit_of"  # on the edited email: the original's MultiMail email id
MAX_SUBJECT = 998  # MultiMail's send limits (contracts/multimail-notes.md)
MAX_MARKDOWN = 262144
PENDING_WAIT = 2.0  # seconds step 3 waits in place for MultiMail's scan before handing back to the outbox
PENDING_POLL = 0.05


class EditWait(Exception):
    """The edited version is not awaiting approval yet: try again shortly."""


class EditRefused(Exception):
    """A step cannot go on; a person must look (the outbox item fails with this message)."""


@dataclass(frozen=True)
class EditPlan:
    subject: str
    markdown: str
    content_hash: str
    diff: dict


def edit_plan(draft: Draft, edit) -> EditPlan | None:
    """Check a reviewer's edit ({"subject"?, "markdown"?}) against the draft; None when there is none.

    Raises InvalidDecision (a 400 for the API) for an edit that is not an object, an empty or too
    long field, a draft with attachments, or an edit that changes nothing.
    """
    if edit is None:
        return None
    if not isinstance(edit, dict) or set(edit) - {"subject", "markdown"}:
        raise InvalidDecision('edit must be an object with "subject" and/or "markdown"')
    subject = _edited_field(edit, "subject", draft.subject, MAX_SUBJECT)
    markdown = _edited_field(edit, "markdown", draft.markdown, MAX_MARKDOWN)
    if subject == draft.subject and markdown == draft.markdown:
        raise InvalidDecision("the edit changes nothing: the subject and the body are exactly as the draft has them")
    if draft.attachments:
        raise InvalidDecision(
            "a draft with attachments cannot be edited: MultiMail would need the files to send the edited version"
        )
    hashed = edited_content_hash(draft, subject=subject, markdown=markdown)
    diff = edit_diff(old_subject=draft.subject, new_subject=subject, old_markdown=draft.markdown, new_markdown=markdown)
    return EditPlan(subject=subject, markdown=markdown, content_hash=hashed, diff=diff)


def _edited_field(edit: dict, name: str, original: str, limit: int) -> str:
    value = edit.get(name)
    if value is None:
        return original
    if not isinstance(value, str):
        raise InvalidDecision(f"edit.{name} must be a string")
    value = value.replace("\r\n", "\n")
    if not value.strip():
        raise InvalidDecision(f"edit.{name} cannot be empty")
    if len(value) > limit:
        raise InvalidDecision(f"edit.{name} is too long (at most {limit} characters)")
    return value


def edited_content_hash(draft: Draft, *, subject: str, markdown: str) -> str:
    """The hash the edited email will have at MultiMail: the original's sender and recipients, the new text."""
    return content_hash(
        from_address=draft.from_address, to=draft.to, cc=draft.cc, subject=subject, markdown=markdown, attachments=[]
    )


def edit_record(decision: Decision, draft: Draft, plan: EditPlan) -> DraftEdit:
    """Inside the decision's transaction: the edit beside its decision."""
    return DraftEdit.objects.create(
        decision=decision,
        original_subject=draft.subject,
        original_markdown=draft.markdown,
        original_content_hash=draft.content_hash,
        edited_subject=plan.subject,
        edited_markdown=plan.markdown,
        edited_content_hash=plan.content_hash,
        diff=plan.diff,
        idempotency_key=f"reviewqueue-edit-{decision.pk}-{draft.email_id}"[:80],
    )


def edit_audit_payload(edit: DraftEdit) -> dict:
    """What the decision's audit event adds for an edit: both texts, both hashes, the redline."""
    return {
        "original": {
            "subject": edit.original_subject,
            "markdown": edit.original_markdown,
            "content_hash": edit.original_content_hash,
        },
        "edited": {
            "subject": edit.edited_subject,
            "markdown": edit.edited_markdown,
            "content_hash": edit.edited_content_hash,
        },
        "diff": edit.diff,
    }


# --- Carrying it out (the outbox's `decide` item of an edited approval) ----------------------------


def edit_carry_out(decision: Decision, draft: Draft, multimail) -> dict:
    """Run the steps not yet recorded; returns the outbox result (the final email and MultiMail's status)."""
    edit = DraftEdit.objects.get(decision_id=decision.pk)
    if not edit.edited_email_id:
        _send_edited(edit, decision, draft, multimail)
    if not edit.original_outcome:
        _supersede_original(edit, decision, draft, multimail)
    if edit.edited_outcome == DraftEdit.EditedOutcome.MISMATCH:  # an admin's retry cannot make it the edit
        raise EditRefused(f"the edited email {edit.edited_email_id} is not the edit that was approved")
    if not edit.edited_outcome:
        status = _approve_edited(edit, decision, draft, multimail)
    else:
        status = decision.carried_out_status
    return {
        "_audit": "edit.carried_out",
        "email_id": edit.edited_email_id,
        "original_email_id": draft.email_id,
        "original_outcome": edit.original_outcome,
        "multimail_status": status,
    }


def _send_edited(edit: DraftEdit, decision: Decision, draft: Draft, multimail) -> None:
    sent = multimail.send(
        mailbox_id=draft.mailbox_id,
        to=list(draft.to),
        cc=list(draft.cc) or None,
        subject=edit.edited_subject,
        markdown=edit.edited_markdown,
        idempotency_key=edit.idempotency_key,
    )
    tags = {
        **draft.tags,
        EDIT_OF_TAG: draft.email_id,
        "reviewed_by": decision.reviewer_username,
        "review_decision_id": str(decision.pk),
    }
    if draft.thread_id:  # MultiMail's send takes no thread: the original's is kept as a tag
        tags["reviewqueue_original_thread_id"] = draft.thread_id
    # A new email has no tags but ours: set them whole (PUT, safe to repeat), without reading them first.
    multimail.set_tags(mailbox_id=draft.mailbox_id, email_id=sent.id, tags=tags)
    with transaction.atomic():
        DraftEdit.objects.filter(pk=edit.pk).update(edited_email_id=sent.id)
        # The webhook may have brought the edited email in before its id was known here.
        _mark_edited_version(Draft.objects.filter(email_id=sent.id, edit_of__isnull=True), edit, draft)
        # Before the approval leaves: reconciliation (audit/reconcile.py) then knows the edited
        # email's approval at MultiMail as ours, and expects it.
        audit_record(
            actor=Actor.system("review.outbox"),
            action="edit.sent",
            target_type="draft",
            target_id=draft.pk,
            payload={
                "decision_id": decision.pk,
                "action": "approve",
                "email_id": sent.id,
                "original_email_id": draft.email_id,
                "content_hash": edit.edited_content_hash,
            },
        )
    edit.edited_email_id = sent.id


def _supersede_original(edit: DraftEdit, decision: Decision, draft: Draft, multimail) -> None:
    from reviewqueue.integrations.multimail.client import MultiMailConflict, MultiMailNotFound

    try:
        multimail.cancel(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
        outcome = DraftEdit.OriginalOutcome.CANCELLED
    except MultiMailConflict:
        outcome = _reject_original(decision, draft, multimail)
    except MultiMailNotFound as error:
        raise EditRefused("MultiMail no longer knows the original email (404 on cancel)") from error
    DraftEdit.objects.filter(pk=edit.pk).update(original_outcome=outcome)
    Draft.objects.filter(pk=draft.pk).update(email_status=outcome, updated_at=timezone.now())
    edit.original_outcome = outcome


def _reject_original(decision: Decision, draft: Draft, multimail) -> str:
    """It can no longer be cancelled: reject it, or find that an earlier attempt did (or that it is gone)."""
    from reviewqueue.integrations.multimail.client import MultiMailConflict, MultiMailNotFound

    email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
    if email.status == "cancelled":
        return DraftEdit.OriginalOutcome.CANCELLED
    if email.status in statuses.IN_OVERSIGHT_QUEUE:
        reason = f"superseded by an edit by {decision.reviewer_label} in reviewqueue (decision {decision.pk})"
        try:
            multimail.decide(email_id=draft.email_id, action="reject", reason=reason)
            return DraftEdit.OriginalOutcome.REJECTED
        except (MultiMailNotFound, MultiMailConflict):
            email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
    if email.status in statuses.REJECTED:
        return DraftEdit.OriginalOutcome.REJECTED
    _edited_back_to_queue(draft, f"the original email was {email.status!r} at MultiMail before the edit superseded it")
    raise EditRefused(
        f"the original email is {email.status!r} at MultiMail: it could be neither cancelled nor rejected"
    )


def _approve_edited(edit: DraftEdit, decision: Decision, draft: Draft, multimail) -> str:
    from reviewqueue.integrations.multimail.client import MultiMailConflict, MultiMailNotFound

    email = _edited_email_awaiting(edit, draft, multimail)
    if email.status in statuses.IN_OVERSIGHT_QUEUE:
        if _email_hash(email) != edit.edited_content_hash:
            _edited_mismatch(edit, draft)
            raise EditRefused(
                f"the edited email {edit.edited_email_id} is not the edit that was approved (its content hash differs):"
                " left in the queue, flagged, for a person"
            )
        reason = f"approved with edits by {_reviewer(decision)} in reviewqueue (decision {decision.pk})"
        try:
            status = multimail.decide(email_id=edit.edited_email_id, action="approve", reason=reason).status
        except (MultiMailNotFound, MultiMailConflict):  # an earlier attempt's answer was lost: read it back
            email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=edit.edited_email_id)
            status = email.status
    else:
        status = email.status
    if status not in statuses.APPROVED:
        raise EditRefused(f"the edited email {edit.edited_email_id} is {status!r} at MultiMail, not approved")
    _edited_approved(edit, decision, status)
    return status


def _edited_email_awaiting(edit: DraftEdit, draft: Draft, multimail):
    """The edited email, once MultiMail has scanned it (a short wait in place; then the outbox's retry)."""
    deadline = time.monotonic() + PENDING_WAIT
    while True:
        email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=edit.edited_email_id)
        if email.status != "pending_scan":
            return email
        if time.monotonic() >= deadline:
            raise EditWait(f"the edited email {edit.edited_email_id} is still being scanned by MultiMail")
        time.sleep(PENDING_POLL)


def _email_hash(email) -> str:
    attachments = [{"name": a.name, "content_type": a.content_type, "size": a.size} for a in email.attachments]
    return content_hash(
        from_address=email.from_address or "",
        to=list(email.to),
        cc=list(email.cc or []),
        subject=email.subject or "",
        markdown=email.markdown or "",
        attachments=attachments,
    )


def _reviewer(decision: Decision) -> str:
    who = decision.reviewer_label
    return f"{who} <{decision.reviewer_email}>" if decision.reviewer_email else who


def _edited_approved(edit: DraftEdit, decision: Decision, status: str) -> None:
    stored = multimail_status_to_store(status)
    with transaction.atomic():
        DraftEdit.objects.filter(pk=edit.pk).update(edited_outcome=DraftEdit.EditedOutcome.APPROVED)
        Decision.objects.filter(pk=decision.pk).update(carried_out_status=stored)
        Draft.objects.filter(email_id=edit.edited_email_id).update(
            status=Draft.Status.EDITED_VERSION,
            edit_of_id=decision.draft_id,
            email_status=stored,
            updated_at=timezone.now(),
        )
    edit.edited_outcome = DraftEdit.EditedOutcome.APPROVED


def _edited_mismatch(edit: DraftEdit, draft: Draft) -> None:
    """Recorded, and the edited draft (when it is in) put in the queue, flagged; if it is not in yet,
    the fetch that brings it in finds the mismatch itself (edited_version_fields)."""
    with transaction.atomic():
        DraftEdit.objects.filter(pk=edit.pk).update(edited_outcome=DraftEdit.EditedOutcome.MISMATCH)
        Draft.objects.filter(email_id=edit.edited_email_id).update(
            status=Draft.Status.PENDING, edit_of=draft, flag_edit_mismatch=True, updated_at=timezone.now()
        )
        unfetched = Draft.objects.filter(email_id=edit.edited_email_id, fetched_at__isnull=True).first()
        if unfetched is not None:  # a person needs its content shown
            transaction.on_commit(lambda: enqueue.draft_fetch(unfetched.pk))


def _edited_back_to_queue(draft: Draft, why: str) -> None:
    """The edit cannot stand (the original went out another way): a person decides the edited version."""
    Draft.objects.filter(edit_of=draft, status=Draft.Status.EDITED_VERSION).update(
        status=Draft.Status.PENDING, status_detail=why[:2000], updated_at=timezone.now()
    )


def _mark_edited_version(drafts, edit: DraftEdit, original: Draft) -> None:
    for found in drafts:
        # Not fetched yet: its fetch compares the hash; step 3 checks it at MultiMail before approving.
        matches = found.fetched_at is None or found.content_hash == edit.edited_content_hash
        Draft.objects.filter(pk=found.pk, status=Draft.Status.PENDING).update(
            edit_of=original,
            status=Draft.Status.EDITED_VERSION if matches else Draft.Status.PENDING,
            flag_edit_mismatch=not matches,
            updated_at=timezone.now(),
        )


# --- The edited email arriving (webhook or poll, then the fetch) -----------------------------------


def edited_version_fields(*, email_id: str, mailbox_id: str, tags: dict, hashed: str) -> dict:
    """For the fetch: the fields that make an arriving email the edited version of a draft, or {}.

    It is one when its id is an edit's edited email, or it carries an edit's tag, or (its id not
    recorded yet: the webhook can beat the outbox) its content hash is an open edit's in the same
    mailbox. Its content hash must be the edit's to leave the queue; otherwise it stays, flagged.
    """
    claimed = Q(edited_email_id=email_id)
    if tags.get(EDIT_OF_TAG):
        claimed |= Q(decision__draft__email_id=tags[EDIT_OF_TAG], edited_email_id__in=["", email_id])
    claimed |= Q(
        edited_email_id="", edited_outcome="", edited_content_hash=hashed, decision__draft__mailbox_id=mailbox_id
    )
    edit = DraftEdit.objects.select_related("decision").filter(claimed).order_by("-pk").first()
    if edit is None:
        return {}
    matches = hashed == edit.edited_content_hash
    return {
        "edit_of_id": edit.decision.draft_id,
        "status": Draft.Status.EDITED_VERSION if matches else Draft.Status.PENDING,
        "flag_edit_mismatch": not matches,
        "_decision_id": edit.decision_id,
    }


def edit_of_for_email(email_id: str) -> int | None:
    """The original draft's id when `email_id` is a recorded edited version (draft_receive asks)."""
    return DraftEdit.objects.filter(edited_email_id=email_id).values_list("decision__draft_id", flat=True).first()


def edit_nudge(decision_id: int) -> list[int]:
    """The edited version arrived: its decision's `decide` item may run at once (ids to enqueue)."""
    items = OutboxItem.objects.filter(
        decision_id=decision_id, kind=OutboxItem.Kind.DECIDE, status=OutboxItem.Status.PENDING
    )
    ids = list(items.values_list("pk", flat=True))
    items.update(next_attempt_at=timezone.now())
    return ids
