"""Claims: a reviewer holds a draft for CLAIM_TTL while reading it.

For the pages and the API
-------------------------
- `draft_claim(draft=, reviewer=, take_over=False) -> Claim`
    raises DraftClaimedByOther(claim) when another reviewer holds a live claim (`claim.holder`,
    `claim.expires_at`); pass take_over=True after the person confirmed, which is audited as
    `draft.claim_taken_over`. Claiming your own claim again extends it. DraftNotPending when the
    draft left the queue.
- `draft_release(draft=, reviewer=) -> bool` — drops the reviewer's own claim (False if none).
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.review.draft_reads import draft_with_decision_and_claim
from reviewqueue.review.errors import DraftAlreadyDecided, DraftClaimedByOther, DraftNotPending
from reviewqueue.review.models import Claim, Draft


def _claim_ttl() -> timedelta:
    return timedelta(seconds=settings.CLAIM_TTL)


def _lock_pending_draft(draft: Draft) -> Draft:
    """The draft, locked until commit, read again with its decision and its claim: two statements.

    The read comes after the lock, in a statement of its own: read in the locking statement, the
    decision and the claim would come from the snapshot taken before it waited for the lock, and a
    decider or claimer that committed meanwhile would go unseen. Claims are only made under this
    lock, so `locked_claim(locked)` stays true until commit.
    """
    _lock_draft_row(draft.pk)
    locked = draft_with_decision_and_claim(draft.pk)  # the select_related read, written out once
    decision = _related_or_none(locked, "decision")
    if decision is not None:
        raise DraftAlreadyDecided(decision)
    if not locked.is_pending:
        raise DraftNotPending(locked)
    return locked


# Written out: the ORM's select_for_update().values_list().get() compiled on every decision and claim.
_LOCK_SQL = "SELECT id FROM review_draft WHERE id = %s FOR UPDATE"


def _lock_draft_row(draft_id: int) -> None:
    """Lock the draft's row until commit; Draft.DoesNotExist when it is gone (as the ORM's get() raised)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [draft_id])
        if cursor.fetchone() is None:
            raise Draft.DoesNotExist("Draft matching query does not exist.")


def locked_claim(locked: Draft) -> Claim | None:
    """The claim (with its holder) read by _lock_pending_draft; None when the draft has none."""
    return _related_or_none(locked, "claim")


def _related_or_none(draft: Draft, name: str):
    try:
        return getattr(draft, name)
    except ObjectDoesNotExist:
        return None


def draft_claim(
    *, draft: Draft, reviewer, take_over: bool = False, request_origin: RequestOrigin | None = None
) -> Claim:
    """Hold a draft for CLAIM_TTL. Race-safe: the draft row is locked while the claim is decided."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_pending_draft(draft)
        claim = locked_claim(locked)
        previous = claim.holder if claim is not None and claim.is_live(now) else None
        if previous is not None and previous.pk != reviewer.pk and not take_over:
            raise DraftClaimedByOther(claim)
        if claim is None:
            claim = Claim.objects.create(draft=locked, holder=reviewer, claimed_at=now, expires_at=now + _claim_ttl())
        else:
            claim.holder, claim.expires_at = reviewer, now + _claim_ttl()
            if previous is None or previous.pk != reviewer.pk:
                claim.claimed_at = now
            claim.save(update_fields=["holder", "claimed_at", "expires_at"])
        if previous is not None and previous.pk == reviewer.pk:
            return claim  # extending one's own claim is not news
        taken_over = previous is not None
        audit_record(
            actor=Actor.person(reviewer),
            action="draft.claim_taken_over" if taken_over else "draft.claimed",
            target_type="draft",
            target_id=locked.pk,
            payload={
                "email_id": locked.email_id,
                "expires_at": claim.expires_at,
                **({"previous_holder": {"id": previous.pk, "username": previous.get_username()}} if taken_over else {}),
            },
            origin=request_origin,
        )
    return claim


def draft_release(*, draft: Draft, reviewer, request_origin: RequestOrigin | None = None) -> bool:
    """Drop the reviewer's own claim. False when they held none."""
    with transaction.atomic():
        deleted, _ = Claim.objects.filter(draft_id=draft.pk, holder=reviewer).delete()
        if deleted:
            audit_record(
                actor=Actor.person(reviewer),
                action="draft.released",
                target_type="draft",
                target_id=draft.pk,
                payload={"email_id": draft.email_id},
                origin=request_origin,
            )
    return bool(deleted)
