"""Decide: the one decision on a draft, with its audit event and the outbox rows that carry it out.

For the pages and the API (what a view calls and what it must handle)
--------------------------------------------------------------------
- `draft_decide(draft=, reviewer=, action="approve"|"reject", reason=, origin=<a Decision.Origin>,
   shown_snapshot_id=None, confirm_changed=False, request_origin=RequestOrigin(ip, ua)) -> Decision`
    * reject needs a reason (presets in review/reasons.py: PRESET_REJECT_REASONS, plus free text);
      else InvalidDecision (a ValueError; message for the person).
    * DraftAlreadyDecided(decision): someone decided first — `decision.reviewer_label`,
      `decision.decided_at`, `decision.action`; str(error) is "already approved by X at T UTC".
      The API answers 409 with it.
    * DraftClaimedByOther(claim): someone else holds a live claim; take it over first.
    * ConversationChangedSinceOpened(changes, snapshot_id): approving when the conversation has a
      newer snapshot than `shown_snapshot_id` (the `draft.latest_snapshot_id` the page or the API
      showed; None, "shown none", is older than any). Show `error.changes` and ask again; the second
      submit passes confirm_changed=True (and the new snapshot id), which the decision records.
      Rejecting never asks. Approving on a snapshot older than CONTEXT_MAX_AGE first re-reads the
      conversation from Intercom (one quick GET); when Intercom does not answer, the approval goes
      through and the decision records why the context could not be re-checked.
    * DraftContentNotIn(draft): the draft's content has not been fetched yet.
    * DraftNotPending(draft): decided in MultiMail's dashboard, cancelled, or failed to load.
    * Four-eyes (a mailbox policy of 2 approvals, sla/four_eyes.py): AwaitingSecondApproval(first_approval)
      when this approval was the first, recorded and committed (not a failure: the draft stays
      pending, nothing is sent; the API answers 202); SameApproverTwice when its giver approves again.
    All of these subclass ReviewError (review/errors.py). On success the draft's status is "decided"
    and the outbox carries the decision out after commit.
- Reads live in review/selectors.py (queue_page, draft_detail, queue_neighbour_id).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.review import enqueue
from reviewqueue.review.claims import _lock_pending_draft, locked_claim
from reviewqueue.review.clients import multimail_client
from reviewqueue.review.context import conversation_reread
from reviewqueue.review.edits import EditPlan, edit_audit_payload, edit_plan, edit_record
from reviewqueue.review.errors import (
    ConversationChangedSinceOpened,
    DraftAlreadyDecided,
    DraftClaimedByOther,
    DraftContentNotIn,
    InvalidDecision,
)
from reviewqueue.review.flags import conversation_changes
from reviewqueue.review.models import Claim, Decision, Draft, OutboxItem
from reviewqueue.review.redline import edit_summary
from reviewqueue.review.signals import send_decision_recorded
from reviewqueue.sla.errors import AwaitingSecondApproval
from reviewqueue.sla.four_eyes import four_eyes_gate

log = logging.getLogger(__name__)


def draft_decide(
    *,
    draft: Draft,
    reviewer,
    action: str,
    reason: str,
    origin: str,
    shown_snapshot_id: int | None = None,
    confirm_changed: bool = False,
    request_origin: RequestOrigin | None = None,
    at: datetime | None = None,
    edit: dict | None = None,
) -> Decision:
    """The one decision on a draft, with its audit event and outbox rows, in one transaction.

    Concurrent deciders serialize on the draft's row lock; the unique constraint on
    Decision.draft backs it up. Losers get DraftAlreadyDecided naming the winner. `at`: when it
    was decided, if not now (history replayed in time order; see audit_record_many). `edit`: an
    approval's {"subject"?, "markdown"?} (review/edits.py); request_changes takes its feedback as `reason`.
    """
    reason = (reason or "").strip()
    _check_action(action, reason, edit)
    if origin not in Decision.Origin.values:
        raise InvalidDecision(f"origin must be one of {', '.join(Decision.Origin.values)}")
    request_origin = request_origin or RequestOrigin()
    confirm_changed = confirm_changed and action == Decision.Action.APPROVE
    guarded = action == Decision.Action.APPROVE and not confirm_changed
    recheck_error = _conversation_recheck(draft) if guarded else ""  # network: before the transaction
    evidence = _Evidence(shown_snapshot_id, confirm_changed, recheck_error)
    try:
        with transaction.atomic():
            locked = _lock_pending_draft(draft)
            if locked.fetched_at is None:
                raise DraftContentNotIn(locked)
            claim = locked_claim(locked)
            if claim is not None and claim.is_live() and claim.holder_id != reviewer.pk:
                raise DraftClaimedByOther(claim)
            if guarded:
                _check_conversation_unchanged(locked, shown_snapshot_id)
            plan = edit_plan(locked, edit)
            # Four-eyes (sla/four_eyes.py): a first of two approvals is only recorded; a second names the first.
            gate = four_eyes_gate(
                draft=locked, reviewer=reviewer, action=action, reason=reason, origin=origin,
                shown_snapshot_id=shown_snapshot_id, request_origin=request_origin, edited=plan is not None,
            )  # fmt: skip
            if gate.first_approval is None:
                decision = _decision_write(
                    locked,
                    reviewer,
                    action,
                    gate.reason,
                    origin,
                    evidence,
                    request_origin,
                    at or timezone.now(),
                    plan,
                    replayed=at is not None,
                    had_claim=claim is not None,
                )
    except IntegrityError:  # the unique constraint caught a race the lock did not (defence in depth)
        raise DraftAlreadyDecided(Decision.objects.get(draft_id=draft.pk)) from None
    if gate.first_approval is not None:
        raise AwaitingSecondApproval(gate.first_approval)  # committed: the draft stays in the queue
    draft.status = Draft.Status.DECIDED
    return decision


def _check_action(action: str, reason: str, edit) -> None:
    if action not in Decision.Action.values:
        raise InvalidDecision("action must be approve, reject or request_changes")
    if action == Decision.Action.REJECT and not reason:
        raise InvalidDecision("a rejection needs a reason")
    if action == Decision.Action.REQUEST_CHANGES and not reason:
        raise InvalidDecision("requesting changes needs feedback for the agent (reason)")
    if edit is not None and action != Decision.Action.APPROVE:
        raise InvalidDecision("only an approval can carry an edit")


@dataclass(frozen=True)
class _Evidence:
    """What a decision records about the conversation the person saw."""

    shown_snapshot_id: int | None  # None: they were shown no snapshot
    confirmed_changed: bool  # approved past the check, after being told what changed
    context_recheck_error: str  # why Intercom could not re-check a stale snapshot ("" when it did or needed not)


# A person waits on the re-check: one attempt, and an answer within this or none.
CONTEXT_RECHECK_TIMEOUT = 3.0  # seconds


def _conversation_recheck(draft: Draft) -> str:
    """Before an approval, re-read a conversation whose latest snapshot was last confirmed by Intercom
    more than CONTEXT_MAX_AGE ago.

    Opening the draft queued a refresh of its conversation ahead of this (review/context.py), so this
    usually finds a recently confirmed snapshot and asks Intercom nothing; it stays as the safety net.
    The check against the snapshot shown trusts Intercom's webhooks to say the customer wrote
    again; a lost webhook leaves a stale snapshot that looks current. A new state is stored as the
    latest snapshot (its drafts re-flagged), so the check that follows refuses the approval and
    shows what changed. Returns why Intercom could not answer ("" when it did, or when the snapshot
    is fresh enough): the approval then goes ahead, and the decision records that.
    """
    from reviewqueue.integrations.intercom.client import IntercomError
    from reviewqueue.integrations.intercom.models import ConversationSnapshot

    if not draft.conversation_id or not draft.is_pending or draft.fetched_at is None:
        return ""  # nothing to re-check, or the decision is refused anyway
    # [:1] rather than first(): one row by its key needs no ORDER BY (compiled on every approval).
    checked_at = next(
        iter(ConversationSnapshot.objects.filter(pk=draft.latest_snapshot_id).values_list("checked_at", flat=True)[:1]),
        None,
    )
    if checked_at is None or timezone.now() - checked_at < timedelta(seconds=settings.CONTEXT_MAX_AGE):
        return ""  # no conversation was shown (the page said so), or what was shown is recent enough
    # The background refresh (review/context.py) did not reach it in time: said in the log, since how
    # often the reviewer waits on Intercom here is what that refresh is for.
    log.info("conversation re-read at approval", extra={"draft_id": draft.pk, "checked_at": checked_at.isoformat()})
    try:  # stored as the background refresh stores it
        conversation_reread(draft.conversation_id, timeout=CONTEXT_RECHECK_TIMEOUT)
    except IntercomError as error:
        log.warning("conversation re-check failed", extra={"draft_id": draft.pk, "error": repr(error)})
        return f"Intercom could not re-check conversation {draft.conversation_id}: {error}"
    return ""


def _check_conversation_unchanged(draft: Draft, shown_snapshot_id: int | None) -> None:
    """An approval stands on the latest snapshot: one shown earlier, or none shown, is refused with the changes."""
    latest = draft.latest_snapshot_id
    if latest is None or latest == shown_snapshot_id:
        return
    from reviewqueue.integrations.intercom.models import ConversationSnapshot

    snapshots = {s.pk: s for s in ConversationSnapshot.objects.filter(pk__in=[shown_snapshot_id, latest])}
    old, new = snapshots.get(shown_snapshot_id), snapshots.get(latest)
    changes = conversation_changes(old.conversation if old else None, new.conversation if new else None)
    raise ConversationChangedSinceOpened(changes, latest)


def decision_reason_text(decision: Decision) -> str:
    """The `reason` MultiMail keeps: it knows only our API key, so the person is named here."""
    who = decision.reviewer_label
    if decision.reviewer_email:
        who += f" <{decision.reviewer_email}>"
    if decision.action == Decision.Action.REQUEST_CHANGES:
        return f"changes requested by {who}: {decision.reason}"
    text = f"{decision.verb} by {who} in reviewqueue (decision {decision.pk})"
    return f"{text}: {decision.reason}" if decision.reason else text


def _decision_write(
    draft,
    reviewer,
    action,
    reason,
    origin,
    evidence: _Evidence,
    request_origin,
    now,
    plan: EditPlan | None = None,
    *,
    replayed: bool = False,
    had_claim: bool = True,
) -> Decision:
    decision = Decision.objects.create(
        draft=draft,
        action=action,
        reason=reason,
        origin=origin,
        reviewer=reviewer,
        reviewer_username=reviewer.get_username(),
        reviewer_name=reviewer.get_full_name(),
        reviewer_email=reviewer.email or "",
        decided_at=now,
        ip=request_origin.ip,
        user_agent=(request_origin.user_agent or "")[:512],
        content_hash=draft.content_hash,
        snapshot_id=evidence.shown_snapshot_id,
        confirmed_changed=evidence.confirmed_changed,
        context_recheck_error=evidence.context_recheck_error,
    )
    edit = edit_record(decision, draft, plan) if plan else None
    if edit is None:  # known to have none: decision.verb, the reason and the note need not ask the database
        Decision.edit.related.set_cached_value(decision, None)
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.DECIDED, updated_at=now)
    if had_claim:  # claims are made under the draft's lock, which this transaction holds: none can appear
        Claim.objects.filter(draft_id=draft.pk).delete()
    items = OutboxItem.objects.bulk_create(_decision_outbox_items(decision, draft))
    # A new decision's first runnable item is its `decide` (the rest follow it): queued by the id
    # just inserted, rather than read back after commit (outbox.outbox_enqueue_next).
    decide_id = next(item.pk for item in items if item.kind == OutboxItem.Kind.DECIDE)
    # Last: the audit append holds the log's lock until commit, so nothing else waits behind it.
    audit_record(
        actor=Actor.person(reviewer),
        action="draft.decided",
        target_type="draft",
        target_id=draft.pk,
        payload=_decided_payload(decision, draft, edit),
        origin=request_origin,
        # The log's own clock, read under its lock: `now` was read before it, and an event another
        # process appended meanwhile (a worker carrying out an earlier decision) made a decision
        # stamped `now` fail as "before the log's last event". Only a replay keeps its given time.
        at=now if replayed else None,
    )
    # A broker that is down does not fail the committed decision: enqueue leaves it to the sweeper.
    transaction.on_commit(lambda: enqueue.outbox_run(decide_id))
    transaction.on_commit(
        lambda: send_decision_recorded(decision_id=decision.pk, draft_id=draft.pk, action=decision.action)
    )
    return decision


def _decided_payload(decision: Decision, draft: Draft, edit=None) -> dict:
    payload = {
        "decision_id": decision.pk,
        "draft_id": draft.pk,
        "email_id": draft.email_id,
        "action": decision.action,
        "reason": decision.reason,
        "reviewer": {
            "id": decision.reviewer_id,
            "username": decision.reviewer_username,
            "name": decision.reviewer_name,
            "email": decision.reviewer_email,
        },
        "decided_at": decision.decided_at,
        "content_hash": decision.content_hash,
        "draft": {
            "from": draft.from_address,
            "to": draft.to,
            "cc": draft.cc,
            "subject": draft.subject,
            "markdown": draft.markdown,
            "attachments": draft.attachments,
        },
        "snapshot_id": decision.snapshot_id,
        "latest_snapshot_id": draft.latest_snapshot_id,
        "confirmed_changed": decision.confirmed_changed,
        "context_recheck_error": decision.context_recheck_error,
        "conversation_id": draft.conversation_id,
        "mailbox_id": draft.mailbox_id,
        "routing_version_id": draft.routing_version_number,  # the name audit records already written use
        "draft_received_at": draft.received_at or draft.created_at,
        "ip": decision.ip,
        "user_agent": decision.user_agent,
        "origin": decision.origin,
        "edited": edit is not None,
        "revision_of": draft.revision_of_id,
    }
    if edit is not None:
        payload["edit"] = edit_audit_payload(edit)
    return payload


def send_key_configured() -> bool:
    """Tagging the email needs MultiMail's send scope; without that key the tags are skipped."""
    return multimail_client().has_key("send")


def _decision_outbox_items(decision: Decision, draft: Draft) -> list[OutboxItem]:
    kind = OutboxItem.Kind
    edited = decision.is_edited
    decide = {"reason": decision_reason_text(decision), **({"edit": True} if edited else {})}
    items = [OutboxItem(kind=kind.DECIDE, sequence=0, payload=decide)]
    if send_key_configured() and not edited:  # the edited version is tagged as it is sent
        tags = {"reviewed_by": decision.reviewer_username, "review_decision_id": str(decision.pk)}
        items.append(OutboxItem(kind=kind.TAG_EMAIL, sequence=1, payload={"tags": tags}))
    if draft.conversation_id:
        items.append(OutboxItem(kind=kind.INTERCOM_NOTE, sequence=2, payload={"body_html": _decision_note(decision)}))
        tag = _CONVERSATION_TAGS[decision.action]
        items.append(OutboxItem(kind=kind.INTERCOM_TAG, sequence=3, payload={"tag": tag}))
    for item in items:
        item.draft, item.decision = draft, decision
    return items


_CONVERSATION_TAGS = {
    Decision.Action.APPROVE: "email-approved",
    Decision.Action.REJECT: "email-rejected",
    Decision.Action.REQUEST_CHANGES: "email-changes-requested",
}


def _decision_note(decision: Decision) -> str:
    draft = decision.draft
    recipients = ", ".join(draft.to) or "(no recipient)"
    head = f"Email «{escape(draft.subject)}» to {escape(recipients)}"
    who = escape(decision.reviewer_label)
    if decision.action == Decision.Action.REQUEST_CHANGES:
        return f"<p>{head}: changes requested by {who}: {escape(decision.reason)}</p>"
    if decision.is_edited:
        summary = escape(edit_summary(decision.edit.diff))
        return f"<p>{head} approved with edits by {who} at {decision.decided_at:%Y-%m-%d %H:%M} UTC ({summary})</p>"
    if decision.action == Decision.Action.APPROVE:
        why = f" ({escape(decision.reason)})" if decision.reason else ""  # e.g. four-eyes names the first approver
        when = f"{decision.decided_at:%Y-%m-%d %H:%M} UTC"
        return f"<p>{head} approved by {escape(decision.reviewer_label)} at {when}{why}</p>"
    return f"<p>{head} rejected by {escape(decision.reviewer_label)}: {escape(decision.reason)}</p>"
