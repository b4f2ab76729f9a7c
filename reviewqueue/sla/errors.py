"""What four-eyes answers a person's approval with. Both are ReviewErrors, so a caller that knows only
those shows the sentence; the review pages and API answer them properly (202 and 409)."""

from reviewqueue.review.errors import InvalidDecision, ReviewError


class AwaitingSecondApproval(ReviewError):
    """Not a failure: the first of two approvals is recorded (and committed); the draft stays in the
    queue and MultiMail is not called. `.first_approval` is the FirstApproval."""

    def __init__(self, first_approval):
        self.first_approval = first_approval
        super().__init__(
            f"first approval by {first_approval.approver_label} recorded; this mailbox needs a second approval "
            "by someone else before the email is sent"
        )


class SameApproverTwice(ReviewError):
    """Four-eyes: the person who gave the first approval may not give the second."""

    rule = "four-eyes: this mailbox needs approvals by two different people"

    def __init__(self, first_approval):
        self.first_approval = first_approval
        super().__init__(
            f"{self.rule}; you gave the first approval at {first_approval.approved_at:%Y-%m-%d %H:%M:%S} UTC, "
            "so someone else must give the second"
        )


class FirstApprovalWithEdit(InvalidDecision):
    """Four-eyes: an edit is approved only as the second approval, so the edited text is what two people
    passed (the first approver saw the draft as written; the editor approves their own text, which counts)."""

    def __init__(self):
        super().__init__(
            "four-eyes: this mailbox needs two approvals, and an edited version can only be approved as the second "
            "one; approve the draft as written first (or reject it, or request changes)"
        )
