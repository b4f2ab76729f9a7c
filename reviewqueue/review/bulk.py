"""Bulk actions: one request acting on many drafts, each draft on its own.

For the queue page and the review API
-------------------------------------
- `drafts_bulk_decide(draft_ids=, reviewer=, action="reject"|"approve", reason=, origin=,
   shown_snapshot_ids={id: snapshot_id}, request_origin=) -> list[BulkOutcome]`
- `drafts_bulk_claim(draft_ids=, reviewer=, request_origin=) -> list[BulkOutcome]`
- `drafts_bulk_release(draft_ids=, reviewer=, request_origin=) -> list[BulkOutcome]`

Each draft goes through the same service as a single action (review/decisions.py `draft_decide`,
review/claims.py `draft_claim`/`draft_release`), each in its own transaction: its own decision,
outbox rows and audit event. A draft refused, or one whose service fails unexpectedly, is reported
and the loop goes on; nothing already done is undone. The outcomes come back in the order of the
ids asked for (repeats dropped). More than MAX_BULK_IDS ids raise TooManyDrafts before anything is
done; an invalid action or a rejection without a reason raises InvalidDecision.

A bulk approval is for drafts with no flags only: a flagged draft needs its own look (`flagged`).
"""

import logging
from dataclasses import dataclass

from reviewqueue.audit.services import RequestOrigin
from reviewqueue.review.claims import draft_claim, draft_release
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import (
    ConversationChangedSinceOpened,
    DraftAlreadyDecided,
    DraftClaimedByOther,
    DraftContentNotIn,
    DraftNotPending,
    InvalidDecision,
    ReviewError,
)
from reviewqueue.review.models import Decision, Draft
from reviewqueue.sla.errors import AwaitingSecondApproval, SameApproverTwice

log = logging.getLogger(__name__)

MAX_BULK_IDS = 100
BULK_DECISION_ACTIONS = (Decision.Action.REJECT.value, Decision.Action.APPROVE.value)


class TooManyDrafts(ReviewError, ValueError):
    def __init__(self, count: int):
        self.count = count
        super().__init__(f"at most {MAX_BULK_IDS} drafts at once; {count} were sent")


class Result:
    """Why a draft was (not) acted on; the review API answers these words per id."""

    DONE = "done"
    ALREADY_DECIDED = "already_decided"
    CLAIMED = "claimed"  # someone else holds a live claim
    CONTEXT_CHANGED = "context_changed"  # the conversation changed after the snapshot shown
    CONTENT_NOT_IN = "content_not_in"
    NOT_PENDING = "not_pending"  # decided elsewhere, failed to load
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"  # four-eyes: a first approval, recorded
    SAME_APPROVER = "same_approver"  # four-eyes: you gave its first approval
    FLAGGED = "flagged"  # bulk approval is for drafts with no flags
    NOT_HELD = "not_held"  # release: you held no claim on it
    NOT_FOUND = "not_found"
    FAILED = "failed"  # an error nobody foresaw (logged); the other drafts went on


@dataclass(frozen=True)
class BulkOutcome:
    draft_id: int
    result: str  # one of Result
    message: str = ""  # a sentence for a person ("" when done)
    draft: Draft | None = None
    decision: Decision | None = None  # done: the new decision; already_decided: the one that won
    claim: object = None  # claimed: the other person's claim

    @property
    def done(self) -> bool:
        return self.result == Result.DONE


def unique_ids(draft_ids) -> list[int]:
    """The ids in the order asked, each once; more than MAX_BULK_IDS distinct ones raise TooManyDrafts."""
    ids = list(dict.fromkeys(draft_ids))
    if len(ids) > MAX_BULK_IDS:
        raise TooManyDrafts(len(ids))
    return ids


def _drafts_in_order(draft_ids) -> list[tuple[int, Draft | None]]:
    ids = unique_ids(draft_ids)
    found = Draft.objects.in_bulk(ids)
    return [(draft_id, found.get(draft_id)) for draft_id in ids]


def _refusal(draft: Draft, error: ReviewError) -> BulkOutcome:
    if isinstance(error, DraftAlreadyDecided):
        return BulkOutcome(draft.pk, Result.ALREADY_DECIDED, str(error), draft, decision=error.decision)
    if isinstance(error, DraftClaimedByOther):
        return BulkOutcome(draft.pk, Result.CLAIMED, str(error), draft, claim=error.claim)
    if isinstance(error, ConversationChangedSinceOpened):
        return BulkOutcome(draft.pk, Result.CONTEXT_CHANGED, str(error), draft)
    if isinstance(error, DraftContentNotIn):
        return BulkOutcome(draft.pk, Result.CONTENT_NOT_IN, str(error), draft)
    if isinstance(error, DraftNotPending):
        return BulkOutcome(draft.pk, Result.NOT_PENDING, str(error), draft)
    if isinstance(error, AwaitingSecondApproval):
        return BulkOutcome(draft.pk, Result.AWAITING_SECOND_APPROVAL, str(error), draft)
    if isinstance(error, SameApproverTwice):
        return BulkOutcome(draft.pk, Result.SAME_APPROVER, str(error), draft)
    return BulkOutcome(draft.pk, Result.FAILED, str(error), draft)


def _each(draft_ids, act) -> list[BulkOutcome]:
    """Run `act(draft) -> BulkOutcome` per draft; a refusal or an unforeseen error stays with its draft."""
    outcomes = []
    for draft_id, draft in _drafts_in_order(draft_ids):
        if draft is None:
            outcomes.append(BulkOutcome(draft_id, Result.NOT_FOUND, f"no draft {draft_id}"))
            continue
        try:
            outcomes.append(act(draft))
        except ReviewError as error:
            outcomes.append(_refusal(draft, error))
        except Exception:  # one draft's bug must not stop the others (each committed on its own)
            log.exception("bulk action failed on one draft", extra={"draft_id": draft_id})
            outcomes.append(BulkOutcome(draft_id, Result.FAILED, "failed unexpectedly; try this draft alone", draft))
    return outcomes


def drafts_bulk_decide(
    *,
    draft_ids,
    reviewer,
    action: str,
    reason: str,
    origin: str,
    shown_snapshot_ids: dict[int, int | None] | None = None,
    request_origin: RequestOrigin | None = None,
) -> list[BulkOutcome]:
    """Decide each draft with draft_decide, in its own transaction. See the module docstring."""
    if action not in BULK_DECISION_ACTIONS:
        raise InvalidDecision(f"bulk action must be {' or '.join(BULK_DECISION_ACTIONS)}")
    if action == Decision.Action.REJECT and not (reason or "").strip():
        raise InvalidDecision("a rejection needs a reason")
    shown = shown_snapshot_ids or {}

    def decide(draft: Draft) -> BulkOutcome:
        if action == Decision.Action.APPROVE and draft.flags:
            flags = ", ".join(flag.replace("_", " ") for flag in draft.flags)
            return BulkOutcome(draft.pk, Result.FLAGGED, f"flagged ({flags}): open it to approve", draft)
        decision = draft_decide(
            draft=draft,
            reviewer=reviewer,
            action=action,
            reason=reason,
            origin=origin,
            shown_snapshot_id=shown.get(draft.pk),
            request_origin=request_origin,
        )
        return BulkOutcome(draft.pk, Result.DONE, "", draft, decision=decision)

    return _each(draft_ids, decide)


def drafts_bulk_claim(*, draft_ids, reviewer, request_origin: RequestOrigin | None = None) -> list[BulkOutcome]:
    """Claim each draft; one another person holds is left to them (no take-over in bulk)."""

    def claim(draft: Draft) -> BulkOutcome:
        draft_claim(draft=draft, reviewer=reviewer, request_origin=request_origin)
        return BulkOutcome(draft.pk, Result.DONE, "", draft)

    return _each(draft_ids, claim)


def drafts_bulk_release(*, draft_ids, reviewer, request_origin: RequestOrigin | None = None) -> list[BulkOutcome]:
    """Release each of the reviewer's own claims."""

    def release(draft: Draft) -> BulkOutcome:
        if draft_release(draft=draft, reviewer=reviewer, request_origin=request_origin):
            return BulkOutcome(draft.pk, Result.DONE, "", draft)
        return BulkOutcome(draft.pk, Result.NOT_HELD, "you held no claim on it", draft)

    return _each(draft_ids, release)
