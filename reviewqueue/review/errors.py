"""What the review services raise when a person's action cannot go through. Each carries what the UI shows."""


class ReviewError(Exception):
    """Base of every review refusal; `str(error)` is a sentence a person can read."""


class DraftAlreadyDecided(ReviewError):
    """Someone decided first. `.decision` says who (reviewer_label) and when (decided_at)."""

    def __init__(self, decision):
        self.decision = decision
        super().__init__(
            f"already {decision.verb} by {decision.reviewer_label} at {decision.decided_at:%Y-%m-%d %H:%M:%S} UTC"
        )


class DraftNotPending(ReviewError):
    """The draft left the queue another way (decided elsewhere, failed to load). `.draft.status` says which."""

    def __init__(self, draft):
        self.draft = draft
        detail = f": {draft.status_detail}" if draft.status_detail else ""
        super().__init__(f"this draft is no longer pending ({draft.get_status_display()}{detail})")


class DraftClaimedByOther(ReviewError):
    """Another reviewer holds a live claim. `.claim.holder` and `.claim.expires_at` say who and until when."""

    def __init__(self, claim):
        self.claim = claim
        holder = claim.holder.get_full_name() or claim.holder.get_username()
        super().__init__(f"claimed by {holder} until {claim.expires_at:%H:%M:%S} UTC; take it over to act on it")


class ConversationChangedSinceOpened(ReviewError):
    """Approving needs a second, explicit confirmation: the conversation changed after the draft was opened.

    `.changes` is a list of sentences ("Customer replied at …: «…»"); `.snapshot_id` is the latest
    snapshot, which the confirming form sends back as the shown snapshot.
    """

    def __init__(self, changes: list[str], snapshot_id: int | None):
        self.changes = changes
        self.snapshot_id = snapshot_id
        super().__init__("the conversation changed since you opened this draft: " + "; ".join(changes))


class InvalidDecision(ReviewError, ValueError):
    """A decision that cannot be taken as given (unknown action, reject without a reason)."""


class DraftContentNotIn(ReviewError):
    """The draft's content has not been fetched from MultiMail yet: nobody can have seen what they would decide."""

    def __init__(self, draft):
        self.draft = draft
        super().__init__(
            "the content of this draft is not in yet (still being fetched from MultiMail); decide once it is shown"
        )
