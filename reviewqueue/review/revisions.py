"""The revision loop: a reviewer requests changes, the agent submits a revision (intake's `revision_of`).

For intake (routing/intake.py)
------------------------------
- `revision_check(token_id=, previous_id=) -> Draft` before sending: the previous version must be a
  draft this same intake token submitted, whose changes were requested, and not revised already;
  else RevisionRefused, whose message names the field (a 400).
- `revision_link(draft=, previous=)` after the draft is received, in intake's transaction: the
  draft joins the chain (revision_of, revision_number) and is audited as `draft.revision_received`
  on the chain's first draft, so the chain reads as one story in the audit trail.

For the pages: `revision_chain(draft)` (first version first) and `revision_waiting_since`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.review.models import Decision, Draft
from reviewqueue.review.redline import edit_diff

# A revision sorts ahead of fresh drafts of the same wait: the customer already waited through one round.
REVISION_HEAD_START = timedelta(milliseconds=1)


class RevisionRefused(ValueError):
    """`revision_of` does not name a draft this token may revise; str() says why, naming the field."""


def revision_check(*, token_id: int, previous_id) -> Draft:
    from reviewqueue.routing.models import IntakeRecord

    if isinstance(previous_id, bool) or not isinstance(previous_id, int) or previous_id < 1:
        raise RevisionRefused("revision_of must be the id (a positive integer) of a draft this token submitted")
    submitted = IntakeRecord.objects.filter(token_id=token_id, draft_id=previous_id).exists()
    previous = Draft.objects.select_related("decision").filter(pk=previous_id).first() if submitted else None
    if previous is None:
        raise RevisionRefused(f"revision_of: draft {previous_id} was not submitted with this intake token")
    decision = getattr(previous, "decision", None)
    if decision is None or decision.action != Decision.Action.REQUEST_CHANGES:
        raise RevisionRefused(f"revision_of: draft {previous_id} has no request for changes to answer")
    if previous.revisions.exists():
        raise RevisionRefused(f"revision_of: draft {previous_id} has been revised already")
    return previous


def revision_link(*, draft: Draft, previous: Draft, actor: Actor) -> None:
    """Inside intake's transaction: join the chain, sort ahead, and tell the chain's story in the audit log."""
    number = previous.revision_number + 1
    waiting = min(draft.waiting_since, previous.waiting_since) - REVISION_HEAD_START
    Draft.objects.filter(pk=draft.pk).update(
        revision_of=previous, revision_number=number, waiting_since=waiting, updated_at=timezone.now()
    )
    draft.revision_of, draft.revision_number, draft.waiting_since = previous, number, waiting
    audit_record(
        actor=actor,
        action="draft.revision_received",
        target_type="draft",
        target_id=revision_chain(draft)[0].pk,  # the chain's first draft: its story in one place
        payload={
            "draft_id": draft.pk,
            "email_id": draft.email_id,
            "revision_of": previous.pk,
            "revision_number": number,
            "feedback": previous.decision.reason,
        },
    )


def revision_waiting_since(draft: Draft, computed: datetime) -> datetime:
    """The queue's sort key of a revision: no later than its previous version's, and just ahead of it."""
    if draft.revision_of_id is None:
        return computed
    previous = Draft.objects.filter(pk=draft.revision_of_id).values_list("waiting_since", flat=True).first()
    return min(computed, previous or computed) - REVISION_HEAD_START


def revision_chain(draft: Draft) -> list[Draft]:
    """Every version, the first first (a chain is a handful of drafts: one query each)."""
    chain = [draft]
    while chain[0].revision_of_id is not None:
        chain.insert(0, Draft.objects.select_related("decision").get(pk=chain[0].revision_of_id))
    following = Draft.objects.filter(revision_of=draft).first()
    while following is not None:
        chain.append(following)
        following = Draft.objects.filter(revision_of=following).first()
    return chain


def revision_total(draft: Draft, decision: Decision | None) -> int:
    """How many versions the draft's chain has; no query for a draft that is neither a revision nor revised
    (only changes requested can be revised: revision_check), as most are."""
    if draft.revision_of_id is None and (decision is None or decision.action != Decision.Action.REQUEST_CHANGES):
        return 1
    return len(revision_chain(draft))


@dataclass(frozen=True)
class RevisionView:
    """What a revision's page shows: "revision 2 of 2", the feedback it answers, the redline."""

    number: int
    total: int
    previous: Draft | None  # None on the chain's first version
    feedback: str
    feedback_by: str
    diff: dict | None
    following: Draft | None = None  # the next version, when there is one


def revision_view(draft: Draft) -> RevisionView | None:
    if draft.revision_of_id is None:
        return _first_version_view(draft)
    chain = revision_chain(draft)
    previous = chain[chain.index(draft) - 1]
    decision = getattr(previous, "decision", None)
    diff = edit_diff(
        old_subject=previous.subject,
        new_subject=draft.subject,
        old_markdown=previous.markdown,
        new_markdown=draft.markdown,
    )
    following = chain[chain.index(draft) + 1] if chain[-1] != draft else None
    return RevisionView(
        number=draft.revision_number,
        total=len(chain),
        previous=previous,
        feedback=decision.reason if decision else "",
        feedback_by=decision.reviewer_label if decision else "",
        diff=diff,
        following=following,
    )


def _first_version_view(draft: Draft) -> RevisionView | None:
    """A first version is part of a chain only once changes were requested and the agent revised it."""
    decision = getattr(draft, "decision", None)
    if decision is None or decision.action != Decision.Action.REQUEST_CHANGES:
        return None  # no query for the drafts that are not part of a chain
    chain = revision_chain(draft)
    if len(chain) == 1:
        return None
    return RevisionView(
        number=1, total=len(chain), previous=None, feedback="", feedback_by="", diff=None, following=chain[1]
    )
