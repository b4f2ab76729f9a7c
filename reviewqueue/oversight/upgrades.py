"""Loosening a mailbox through MultiMail's upgrade flow, on the evidence.

request-upgrade (send key) emails the operator a one-time code; the admin redeems it here. Both
steps are audited with a snapshot of the evidence at that moment; asking while the verdict is "not
ready" needs a written justification, audited with it. MultiMail's refusals come back as messages.
"""

import contextlib
import math
from datetime import timedelta

from django.db import transaction

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.integrations.multimail import client as multimail
from reviewqueue.integrations.multimail.errors import (
    MultiMailBadRequest,
    MultiMailError,
    MultiMailForbidden,
    MultiMailNotFound,
    MultiMailRateLimited,
)
from reviewqueue.integrations.multimail.oversight_calls import redeem_upgrade, request_upgrade
from reviewqueue.oversight.readiness import policy_current, readiness_verdicts
from reviewqueue.oversight.selectors import Reader, Selection, default_selection, evidence
from reviewqueue.routing.services import mailboxes_sync

LOOSER_MODES = ("monitored", "autonomous")


class UpgradeRefused(Exception):
    """Why the request or the code did not go through, in words for the admin."""


def evidence_snapshot(mailbox_id: str) -> dict:
    """What the evidence said at this moment: the verdict and the figures behind it."""
    policy, reader = policy_current(), Reader()
    (verdict,) = readiness_verdicts([mailbox_id], policy=policy, reader=reader)
    twelve_weeks = evidence(default_selection(mailbox_id=mailbox_id), reader)
    today = reader.today
    window = Selection(since=today - timedelta(days=policy.recent_days - 1), until=today, mailbox_id=mailbox_id)
    recent = evidence(window, reader)
    return {
        "verdict": verdict.as_dict(),
        "policy": {
            "min_decisions": policy.min_decisions,
            "min_days": policy.min_days,
            "unedited_share": str(policy.unedited_share),
            "recent_days": policy.recent_days,
        },
        "last_12_weeks": twelve_weeks.total.as_dict(),
        f"last_{policy.recent_days}_days": recent.total.as_dict(),
    }


def _rate_limited_text(error: MultiMailRateLimited) -> str:
    wait = f" Try again in {math.ceil(error.retry_after / 60)} minutes." if error.retry_after else ""
    return "MultiMail allows 3 upgrade requests an hour for a mailbox, and this one has had them." + wait


def upgrade_request(
    *, user, mailbox_id: str, target_mode: str, justification: str = "", origin: RequestOrigin | None = None
) -> dict:
    if target_mode not in LOOSER_MODES:
        raise UpgradeRefused(f"the target mode must be one of {', '.join(LOOSER_MODES)}")
    justification = justification.strip()
    snapshot = evidence_snapshot(mailbox_id)
    ready = snapshot["verdict"]["ready"]
    if not ready and not justification:
        raise UpgradeRefused(f"{snapshot['verdict']['summary']}. Asking anyway needs a written justification.")
    try:
        answer = request_upgrade(multimail.get_multimail_client(), mailbox_id=mailbox_id, target_mode=target_mode)
    except MultiMailRateLimited as error:
        raise UpgradeRefused(_rate_limited_text(error)) from None
    except MultiMailBadRequest as error:
        raise UpgradeRefused(f"MultiMail refused the request: {error.message}") from None
    except MultiMailError as error:
        raise UpgradeRefused(f"MultiMail could not be asked: {error}") from None
    with transaction.atomic():
        audit_record(
            actor=Actor.person(user),
            action="oversight.upgrade_requested",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={
                "target_mode": target_mode,
                "ready": ready,
                "justification": justification,
                "evidence": snapshot,
                "multimail": answer,
            },
            origin=origin,
        )
    return snapshot


def upgrade_redeem(*, user, mailbox_id: str, code: str, origin: RequestOrigin | None = None) -> str:
    """Redeem the operator's code; returns the mailbox's new mode."""
    code = code.strip()
    if not code:
        raise UpgradeRefused("enter the code MultiMail emailed to the operator")
    try:
        answer = redeem_upgrade(multimail.get_multimail_client(), mailbox_id=mailbox_id, code=code)
    except MultiMailForbidden:
        raise UpgradeRefused("MultiMail did not accept that code: check the email sent to the operator.") from None
    except MultiMailNotFound:
        raise UpgradeRefused(
            "MultiMail has no pending upgrade request for this mailbox (codes expire after 24 hours): ask again."
        ) from None
    except MultiMailError as error:
        raise UpgradeRefused(f"MultiMail could not redeem the code: {error}") from None
    new_mode = str(answer.get("oversight_mode") or "")
    _mirror_refresh(user)
    with transaction.atomic():
        audit_record(
            actor=Actor.person(user),
            action="oversight.upgrade_redeemed",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={"oversight_mode": new_mode, "evidence": evidence_snapshot(mailbox_id), "multimail": answer},
            origin=origin,
        )
    return new_mode


def _mirror_refresh(user) -> None:
    """Our copy of the mailbox list now, not at the next 5-minute sync (which would catch up anyway)."""
    with contextlib.suppress(MultiMailError):
        mailboxes_sync(actor=Actor.person(user))
