"""Writes of the oversight app, each audited in the same transaction."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.oversight.models import ReadinessPolicy, SpotCheckPolicy

POLICY_FIELDS = (
    "min_decisions",
    "min_days",
    "unedited_share",
    "recent_days",
    "blocking_reasons",
    "require_verified_audit",
)


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def policy_update(*, user, changes: dict, origin: RequestOrigin | None = None) -> ReadinessPolicy:
    with transaction.atomic():
        policy, _ = ReadinessPolicy.objects.select_for_update().get_or_create(pk=1)
        before = {name: _plain(getattr(policy, name)) for name in POLICY_FIELDS}
        for name in POLICY_FIELDS:
            setattr(policy, name, changes[name])
        policy.updated_at, policy.updated_by = timezone.now(), user
        policy.save()
        after = {name: _plain(getattr(policy, name)) for name in POLICY_FIELDS}
        audit_record(
            actor=Actor.person(user),
            action="oversight.policy_changed",
            target_type="readiness_policy",
            target_id="1",
            payload={"before": before, "after": after},
            origin=origin,
        )
    return policy


SPOT_POLICY_FIELDS = ("sample_rate", "daily_minimum", "reject_share", "window")


def spot_policy_update(*, user, mailbox_id: str, changes: dict, origin: RequestOrigin | None = None) -> SpotCheckPolicy:
    """Set a mailbox's spot-check settings; audited with the values before (the defaults if none) and after."""
    with transaction.atomic():
        policy, _ = SpotCheckPolicy.objects.select_for_update().get_or_create(mailbox_id=mailbox_id)
        policy.refresh_from_db()  # a new row's defaults as stored decimals, not the model's floats
        before = {name: _plain(getattr(policy, name)) for name in SPOT_POLICY_FIELDS}
        for name in SPOT_POLICY_FIELDS:
            setattr(policy, name, changes[name])
        policy.save()
        policy.refresh_from_db()  # the stored (rounded) decimals, as the audit should show them
        after = {name: _plain(getattr(policy, name)) for name in SPOT_POLICY_FIELDS}
        audit_record(
            actor=Actor.person(user),
            action="oversight.spot_policy_changed",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={"before": before, "after": after},
            origin=origin,
        )
    return policy


def sent_check_record(*, user, check, origin: RequestOrigin | None = None) -> None:
    """Audit one 'did we send this?' check: what was checked (its hash, not its text) and the verdict."""
    email = check.email
    audit_record(
        actor=Actor.person(user),
        action="oversight.sent_check",
        target_type="email",
        target_id=email.message_id[:128],
        payload={
            "verdict": check.verdict,
            "problem": check.claim.problem or check.key_problem,
            "claim": check.claim.claim,
            "email_sha256": email.sha256,
            "from": email.sender,
            "to": email.recipients,
            "subject": email.subject,
            "sent_at": email.sent_at.isoformat() if email.sent_at else None,
            "decision_ids": [decision.pk for decision in check.decisions],
        },
        origin=origin,
    )
