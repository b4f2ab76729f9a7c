"""The SLA sweep (beat, every minute; `manage.py sla_sweep` once): escalate overdue drafts, re-drive
escalation messages a lost broker message left behind, expire drafts past their mailbox's expiry.

Exactly one escalation per draft, whatever runs at once: the claim is one INSERT … SELECT … ON
CONFLICT (draft_id) DO NOTHING RETURNING. Two sweeps that race both select the draft; the second
insert waits on the first's row in the unique index and then inserts nothing, so only the sweep whose
insert returned the row writes its deliveries and audit event, in the same transaction as the claim.
A sweep killed before commit leaves nothing claimed; the next one claims it.

The work per sweep does not grow with the number of drafts: one statement finds and claims the
overdue ones (the draft_queue_mailbox index, status+mailbox+waiting_since), one writes their
deliveries, one audit append, and expiry takes at most EXPIRE_BATCH drafts a sweep.

Clocks: a draft is overdue when the customer has waited longer than the target (`waiting_since`,
the queue's "Waiting" column). It expires when it has been *held* longer than the expiry (MultiMail's
`received_at`, else when reviewqueue first saw it), so a draft that arrives on a conversation that
already waited long is never rejected before anyone could see it.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from reviewqueue import leases
from reviewqueue.audit.services import Actor, AuditEntry, audit_record, audit_record_many
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import DraftAlreadyDecided, DraftClaimedByOther, DraftContentNotIn, DraftNotPending
from reviewqueue.review.models import Decision, Draft
from reviewqueue.sla import enqueue
from reviewqueue.sla.durations import format_duration
from reviewqueue.sla.models import EscalationDelivery, MailboxPolicy
from reviewqueue.sla.signals import send_draft_expired
from reviewqueue.sla.system import system_reviewer

log = logging.getLogger(__name__)

ESCALATE_BATCH = 1000  # a backlog larger than this is claimed over the next sweeps
EXPIRE_BATCH = 100  # each expiry is a decision of its own (a transaction, an outbox, an audit event)
REDRIVE_GRACE = timedelta(seconds=30)
REDRIVE_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    escalated: int
    deliveries: int
    redriven: int
    expired: int

    def __str__(self) -> str:
        return (
            f"escalated {self.escalated} overdue draft(s) ({self.deliveries} message(s) queued), "
            f"re-drove {self.redriven} message(s), expired {self.expired} draft(s)"
        )


def sla_sweep(*, now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    escalated, deliveries = escalations_claim(now=now)
    redriven = deliveries_redrive(now=now)
    expired = drafts_expire(now=now)
    return SweepResult(escalated=escalated, deliveries=deliveries, redriven=redriven, expired=expired)


# --- overdue: escalate once ---------------------------------------------------------------------

_CLAIM_SQL = """
WITH overdue AS (
  SELECT d.id AS draft_id, d.mailbox_id, d.waiting_since + p.target AS overdue_since, p.target
  FROM sla_mailboxpolicy p
  JOIN review_draft d ON d.mailbox_id = p.mailbox_id AND d.status = %(pending)s
   AND d.waiting_since <= %(now)s - p.target
  WHERE p.target IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM sla_escalation e WHERE e.draft_id = d.id)
  ORDER BY d.waiting_since
  LIMIT %(batch)s
)
INSERT INTO sla_escalation (draft_id, mailbox_id, overdue_since, target, created_at)
SELECT draft_id, mailbox_id, overdue_since, target, %(now)s FROM overdue
ON CONFLICT (draft_id) DO NOTHING
RETURNING id, draft_id, mailbox_id, overdue_since, target
"""


def escalations_claim(*, now: datetime) -> tuple[int, int]:
    """Claim every overdue draft not yet escalated; queue its messages after commit. (claimed, messages)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, {"pending": Draft.Status.PENDING, "now": now, "batch": ESCALATE_BATCH})
            claimed = cursor.fetchall()
        if not claimed:
            return 0, 0
        policies = {p.mailbox_id: p for p in MailboxPolicy.objects.filter(mailbox_id__in={r[2] for r in claimed})}
        deliveries = [
            EscalationDelivery(escalation_id=escalation_id, channel=channel, mailbox_id=mailbox_id, next_attempt_at=now)
            for escalation_id, _draft_id, mailbox_id, _since, _target in claimed
            for channel in _channels(policies.get(mailbox_id))
        ]
        created = EscalationDelivery.objects.bulk_create(deliveries)
        audit_record_many([_escalated_entry(row, policies.get(row[2])) for row in claimed])
        delivery_ids = [delivery.pk for delivery in created]
        # robust: a broker that is down leaves the deliveries pending for the next sweep's re-drive, and this
        # sweep still goes on to expiry.
        transaction.on_commit(lambda: enqueue.deliveries_run(delivery_ids), robust=True)
    log.info("drafts escalated", extra={"escalated": len(claimed), "deliveries": len(delivery_ids)})
    return len(claimed), len(delivery_ids)


def _channels(policy: MailboxPolicy | None) -> list[str]:
    if policy is None:
        return []
    channels = []
    if policy.has_slack:
        channels.append(EscalationDelivery.Channel.SLACK)
    if policy.notify_emails:
        channels.append(EscalationDelivery.Channel.EMAIL)
    return channels


def _escalated_entry(row, policy: MailboxPolicy | None) -> AuditEntry:
    escalation_id, draft_id, mailbox_id, overdue_since, target = row
    return AuditEntry(
        actor=Actor.system("sla.sweep"),
        action="draft.escalated",
        target_type="draft",
        target_id=draft_id,
        payload={
            "escalation_id": escalation_id,
            "draft_id": draft_id,
            "mailbox_id": mailbox_id,
            "overdue_since": overdue_since,
            "target": format_duration(target),
            "channels": [str(channel) for channel in _channels(policy)],
        },
    )


def deliveries_redrive(*, now: datetime, grace: timedelta = REDRIVE_GRACE) -> int:
    """Queue again the messages whose broker message was lost: due for longer than `grace`, or running
    on a lapsed lease (a killed worker). Queueing one twice is harmless: the take is a guarded update."""
    status = EscalationDelivery.Status
    stale = EscalationDelivery.objects.filter(leases.stale_q(now, grace))
    ids = list(stale.order_by("next_attempt_at").values_list("pk", flat=True)[:REDRIVE_BATCH])
    if ids:
        # Due from now: the next sweep counts its grace from this re-drive.
        EscalationDelivery.objects.filter(pk__in=ids, status=status.PENDING).update(next_attempt_at=now)
        enqueue.deliveries_run(ids)
    return len(ids)


# --- expiry: rejected by the system ----------------------------------------------------------------

_EXPIRED_SQL = """
SELECT d.id, p.expiry
FROM sla_mailboxpolicy p
JOIN review_draft d ON d.mailbox_id = p.mailbox_id AND d.status = %(pending)s
WHERE p.expiry IS NOT NULL
  AND d.fetched_at IS NOT NULL
  AND coalesce(d.received_at, d.created_at) <= %(now)s - p.expiry
  AND NOT EXISTS (SELECT 1 FROM review_claim c WHERE c.draft_id = d.id AND c.expires_at > %(now)s)
ORDER BY coalesce(d.received_at, d.created_at), d.id
LIMIT %(batch)s
"""


def expired_drafts(*, now: datetime, batch: int = EXPIRE_BATCH) -> list[tuple[int, timedelta]]:
    """(draft id, its mailbox's expiry) of pending drafts held past their expiry and claimed by nobody.

    A draft whose content never came in is left alone (nobody could have decided it; the poll and the
    sweeper keep fetching it); a claimed one waits until its claim ends.
    """
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRED_SQL, {"pending": Draft.Status.PENDING, "now": now, "batch": batch})
        return cursor.fetchall()


def drafts_expire(*, now: datetime) -> int:
    expired = 0
    for draft_id, expiry in expired_drafts(now=now):
        if draft_expire(draft_id=draft_id, expiry=expiry) is not None:
            expired += 1
    return expired


def expiry_reason(expiry: timedelta) -> str:
    return f"expired: no decision within {format_duration(expiry)}"


def draft_expire(*, draft_id: int, expiry: timedelta) -> Decision | None:
    """Reject the draft as the system, through draft_decide (decision, outbox, audit, like any decision).

    None when it cannot be expired now: decided meanwhile, claimed by a person since the sweep looked
    (it expires when the claim ends), or no longer pending.
    """
    draft = Draft.objects.filter(pk=draft_id).first()
    if draft is None:
        return None
    reason = expiry_reason(expiry)
    try:
        with transaction.atomic():
            decision = draft_decide(
                draft=draft,
                reviewer=system_reviewer(),
                action=Decision.Action.REJECT,
                reason=reason,
                origin=Decision.Origin.SYSTEM,
            )
            audit_record(
                actor=Actor.system("sla.sweep"),
                action="draft.expired",
                target_type="draft",
                target_id=draft.pk,
                payload={
                    "draft_id": draft.pk,
                    "email_id": draft.email_id,
                    "mailbox_id": draft.mailbox_id,
                    "decision_id": decision.pk,
                    "expiry": format_duration(expiry),
                    "reason": reason,
                },
            )
            transaction.on_commit(lambda: send_draft_expired(decision_id=decision.pk, draft_id=draft.pk))
    except (DraftAlreadyDecided, DraftClaimedByOther, DraftNotPending, DraftContentNotIn) as skipped:
        log.info("draft not expired", extra={"draft_id": draft_id, "why": str(skipped)})
        return None
    return decision
