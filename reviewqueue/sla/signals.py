"""What the SLA app tells other apps, sent after commit (receivers connect in their AppConfig.ready()).

draft_expired(sender="sla", decision_id, draft_id, event="draft.expired")
    The sweep rejected a draft as the system because nobody decided it within its mailbox's expiry.
    The review app's own decision_recorded (event "draft.rejected") is sent for the same decision;
    this one says why, for a `draft.expired` callback to the agent. At least once: key on decision_id.
"""

import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)

draft_expired = Signal()


def send_draft_expired(*, decision_id: int, draft_id: int) -> None:
    """Call after commit. A receiver that raises is logged; nothing is undone."""
    for receiver, outcome in draft_expired.send_robust(
        sender="sla", decision_id=decision_id, draft_id=draft_id, event="draft.expired"
    ):
        if isinstance(outcome, Exception):
            log.error("draft_expired receiver failed", extra={"receiver": repr(receiver), "error": repr(outcome)})
