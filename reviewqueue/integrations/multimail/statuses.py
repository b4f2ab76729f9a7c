"""MultiMail's email statuses, grouped by what they mean to us; the one place these sets are written.

From contracts/multimail-notes.md: a send is `pending_scan` until scanned, then
`pending_send_approval` in a gated mailbox; an approved email is `approved_and_sent` (`approved`
while scheduled for later); a rejected one is `rejected`. Read as `statuses.APPROVED` and so on.
"""

# Still waiting for a person: pending_scan comes just before pending_send_approval.
AWAITING_DECISION = frozenset({"pending_scan", "pending_send_approval"})

# What GET /v1/oversight/pending lists and POST /v1/oversight/decide accepts.
IN_OVERSIGHT_QUEUE = frozenset({"pending_send_approval", "pending_inbound_approval"})

# Where an email may be once approved (sent, scheduled, delivered), and once rejected.
APPROVED = frozenset({"approved", "approved_and_sent", "sent", "scheduled", "delivered"})
REJECTED = frozenset({"rejected"})
