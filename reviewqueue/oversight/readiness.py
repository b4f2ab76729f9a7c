"""The readiness verdict: whether a mailbox's evidence clears the admin's policy for loosening.

Each criterion is named with its number, met or not, so the verdict reads as a sentence:
"Not ready: 96.1% approved unedited in the last 14 days (needs 98%)".
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from reviewqueue.audit.models import AuditVerification
from reviewqueue.oversight.models import ReadinessPolicy
from reviewqueue.oversight.rollups import Cell
from reviewqueue.oversight.selectors import Reader, Selection, mailbox_histories

# A rejection reason naming one of these words blocks as the policy's listed reasons do.
BLOCKING_WORDS = re.compile(r"\b(safety|unsafe|policy|legal|compliance)\b", re.IGNORECASE)


def policy_current() -> ReadinessPolicy:
    policy, _ = ReadinessPolicy.objects.get_or_create(pk=1)
    return policy


@dataclass(frozen=True)
class Criterion:
    name: str
    met: bool
    text: str  # the figure and the bar, e.g. "96.1% approved unedited in the last 14 days (needs 98%)"

    def as_dict(self) -> dict:
        return {"criterion": self.name, "met": self.met, "detail": self.text}


@dataclass(frozen=True)
class Verdict:
    mailbox_id: str
    criteria: list[Criterion]

    @property
    def ready(self) -> bool:
        return all(c.met for c in self.criteria)

    @property
    def summary(self) -> str:
        if self.ready:
            return "Ready: " + "; ".join(c.text for c in self.criteria)
        return "Not ready: " + "; ".join(c.text for c in self.criteria if not c.met)

    def as_dict(self) -> dict:
        return {
            "mailbox_id": self.mailbox_id,
            "ready": self.ready,
            "summary": self.summary,
            "criteria": [c.as_dict() for c in self.criteria],
        }


def is_blocking_reason(reason: str, policy: ReadinessPolicy) -> bool:
    listed = {str(r).strip().casefold() for r in policy.blocking_reasons or []}
    return reason.strip().casefold() in listed or bool(BLOCKING_WORDS.search(reason))


def readiness_verdict(mailbox_id: str, *, policy: ReadinessPolicy | None = None) -> Verdict:
    return readiness_verdicts([mailbox_id], policy=policy)[0]


def readiness_verdicts(
    mailbox_ids: list[str], *, policy: ReadinessPolicy | None = None, reader: Reader | None = None
) -> list[Verdict]:
    """One verdict per mailbox, in a handful of queries whatever the number of mailboxes."""
    if not mailbox_ids:
        return []
    policy, reader = policy or policy_current(), reader or Reader()
    today = reader.today
    histories = mailbox_histories(mailbox_ids, reader)
    window = Selection(since=today - timedelta(days=policy.recent_days - 1), until=today)
    recent = {mailbox_id: Cell() for mailbox_id in mailbox_ids}
    for (_, mailbox, _), cell in reader.week_cells(window).items():
        if mailbox in recent:
            recent[mailbox].add(cell)
    audit = [_audit_verified()] if policy.require_verified_audit else []
    return [
        Verdict(
            mailbox_id,
            [
                _volume(histories[mailbox_id][1], policy),
                _history(histories[mailbox_id][0], today, policy),
                _unedited(recent[mailbox_id], policy),
                _no_blocking_rejection(recent[mailbox_id], policy),
                *audit,
            ],
        )
        for mailbox_id in mailbox_ids
    ]


def _volume(decisions: int, policy) -> Criterion:
    return Criterion("decisions", decisions >= policy.min_decisions,
                     f"{decisions} decisions (needs {policy.min_decisions})")  # fmt: skip


def _history(first_day, today, policy) -> Criterion:
    days = (today - first_day).days + 1 if first_day else 0
    return Criterion("history", days >= policy.min_days,
                     f"{days} days since the first decision (needs {policy.min_days})")  # fmt: skip


def _percent(value: Decimal | float) -> str:
    return f"{Decimal(value).normalize():f}"


def _unedited(recent: Cell, policy) -> Criterion:
    needs = f"(needs {_percent(policy.unedited_share)}%)"
    window = f"in the last {policy.recent_days} days"
    if not recent.decisions:
        return Criterion("approved_unedited", False, f"no decisions {window} {needs}")
    share = Decimal(recent.outcomes.get("approved_unedited", 0) * 100) / recent.decisions
    shown = share.quantize(Decimal("0.1"))
    return Criterion("approved_unedited", share >= policy.unedited_share,
                     f"{shown}% approved unedited {window} {needs}")  # fmt: skip


def _no_blocking_rejection(recent: Cell, policy) -> Criterion:
    blocking = sum(n for reason, n in recent.rejection_reasons.items() if is_blocking_reason(reason, policy))
    window = f"in the last {policy.recent_days} days"
    if blocking:
        return Criterion("no_safety_rejection", False,
                         f"{blocking} rejection{'s' if blocking != 1 else ''} with a safety or policy reason "
                         f"{window} (needs none)")  # fmt: skip
    return Criterion("no_safety_rejection", True, f"no rejection with a safety or policy reason {window}")


def _audit_verified() -> Criterion:
    last = AuditVerification.objects.exclude(status=AuditVerification.Status.RUNNING).first()
    if last is None:
        return Criterion("verify_audit", False, "verify_audit has never run (needs a clean run)")
    clean = last.status == AuditVerification.Status.INTACT
    when = f"{last.finished_at or last.started_at:%Y-%m-%d %H:%M} UTC"
    return Criterion("verify_audit", clean, f"verify_audit {'clean' if clean else last.status} on {when}"
                     + ("" if clean else " (needs clean)"))  # fmt: skip
