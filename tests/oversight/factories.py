"""Decisions seeded straight into the tables (as the review services leave them), for the evidence tests."""

import itertools
from datetime import UTC, datetime, timedelta

from reviewqueue.review.models import Decision, Draft
from reviewqueue.routing.models import IntakeRecord, IntakeToken

_numbers = itertools.count(1)


def intake_token() -> IntakeToken:
    token, _ = IntakeToken.objects.get_or_create(
        name="oversight-tests", defaults={"key_hash": "0" * 64, "key_hint": "rqi_", "kinds": ["refund", "shipping"]}
    )
    return token


def seed_decision(
    reviewer,
    *,
    mailbox_id: str = "mbx_support",
    kind: str = "",
    action: str = "approve",
    origin: str = "web",
    reason: str = "",
    decided_at: datetime | None = None,
    waited: timedelta = timedelta(minutes=10),
    customer_replied: bool = False,
    confirmed_changed: bool = False,
    to: str = "customer@example.org",
    subject: str = "",
    markdown: str = "Hello **there**",
) -> Decision:
    number = next(_numbers)
    decided_at = decided_at or datetime.now(UTC)
    draft = Draft.objects.create(
        email_id=f"em_seed_{number}",
        mailbox_id=mailbox_id,
        source=Draft.Source.INTAKE if kind else Draft.Source.WEBHOOK,
        status=Draft.Status.DECIDED,
        to=[to],
        subject=subject or f"Re: order {number}",
        markdown=markdown,
        received_at=decided_at - waited,
        created_at=decided_at - waited,
        flag_customer_replied=customer_replied,
        conversation_id=f"conv_{number}",
    )
    if kind:
        IntakeRecord.objects.create(
            idempotency_key=f"seed-{number}", request_hash="0" * 64, token=intake_token(),
            conversation_id=f"conv_{number}", kind=kind, mailbox_id=mailbox_id, email_id=draft.email_id,
            draft_id=draft.pk,
        )  # fmt: skip
    return Decision.objects.create(
        draft=draft,
        action=action,
        reason=reason,
        origin=origin,
        reviewer=reviewer,
        reviewer_username=reviewer.get_username(),
        decided_at=decided_at,
        content_hash="c" * 64,
        confirmed_changed=confirmed_changed,
    )
