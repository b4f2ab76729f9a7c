"""Setting a mailbox's policy: the one writer of MailboxPolicy, audited with old and new values.

`policy_set(mailbox_id=, changes=PolicyChanges(...), actor=, origin=)` is called alike by the
mailbox page and `manage.py mailbox_policy`. A field left UNSET keeps its value. Bad values raise
PolicyInvalid naming the field; a Slack webhook URL must pass reviewqueue/outbound.py's guard
(https, a public address) when it is saved, and it is checked again when a message is sent.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.outbound import OutboundURLRefused, check_outbound_url
from reviewqueue.routing.crypto import secret_decrypt, secret_encrypt
from reviewqueue.sla.durations import format_duration
from reviewqueue.sla.models import MailboxPolicy

UNSET = object()  # "leave as it is"
MAX_NOTIFY_EMAILS = 20


class PolicyInvalid(ValueError):
    """`.field` names what is wrong; str() is a sentence for the admin."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class PolicyChanges:
    target: timedelta | object | None = UNSET  # None: no target
    expiry: timedelta | object | None = UNSET  # None: no expiry
    approvals_required: int | object = UNSET
    slack_webhook_url: str | object = UNSET  # "": none
    notify_emails: list[str] | object = field(default=UNSET)


def policy_of(mailbox_id: str) -> MailboxPolicy:
    """The mailbox's policy, or the default one (no target, no expiry, 1 approval, no channels), unsaved."""
    return MailboxPolicy.objects.filter(mailbox_id=mailbox_id).first() or MailboxPolicy(mailbox_id=mailbox_id)


def policy_view(policy: MailboxPolicy) -> dict:
    """What the policy says, as printed and audited (the Slack URL only by its hint: it is a secret)."""
    return {
        "target": format_duration(policy.target),
        "expiry": format_duration(policy.expiry),
        "approvals_required": policy.approvals_required,
        "slack_webhook": policy.slack_webhook_hint or "",
        "notify_emails": list(policy.notify_emails or []),
    }


def slack_webhook_url(policy: MailboxPolicy) -> str:
    return secret_decrypt(policy.slack_webhook_encrypted) if policy.slack_webhook_encrypted else ""


def webhook_hint(url: str) -> str:
    """https://hooks.slack.com/…/abcd: enough to recognise the URL, not to post with it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}"


def policy_set(
    *, mailbox_id: str, changes: PolicyChanges, actor: Actor, origin: RequestOrigin | None = None
) -> MailboxPolicy:
    """Apply `changes` to the mailbox's policy; one `sla.policy_changed` event with old and new values."""
    checked = _checked(changes)  # the Slack URL's check resolves its host: outside the transaction
    with transaction.atomic():
        policy = MailboxPolicy.objects.select_for_update().filter(mailbox_id=mailbox_id).first()
        policy = policy or MailboxPolicy(mailbox_id=mailbox_id)
        old = policy_view(policy)
        _apply(policy, checked)
        new = policy_view(policy)
        if old == new and not _slack_replaced(changes):
            return policy  # nothing changed (a default policy is not stored until something differs)
        policy.updated_at = timezone.now()
        policy.save()
        audit_record(
            actor=actor,
            action="sla.policy_changed",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={"mailbox_id": mailbox_id, "old": old, "new": new},
            origin=origin,
        )
    return policy


def _slack_replaced(changes: PolicyChanges) -> bool:
    return changes.slack_webhook_url is not UNSET and bool(changes.slack_webhook_url)


def _checked(changes: PolicyChanges) -> PolicyChanges:
    for name in ("target", "expiry"):
        value = getattr(changes, name)
        if value is not UNSET and value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
            raise PolicyInvalid(name, "must be a positive duration such as 90s, 30m, 4h or 2d, or off")
    if changes.approvals_required is not UNSET and changes.approvals_required not in (1, 2):
        raise PolicyInvalid("approvals", f"must be 1 or 2, not {changes.approvals_required!r}")
    url = changes.slack_webhook_url
    if url is not UNSET and url:
        try:
            url = check_outbound_url(str(url))
        except OutboundURLRefused as error:
            raise PolicyInvalid("slack_webhook", str(error)) from None
    emails = changes.notify_emails
    if emails is not UNSET:
        emails = _checked_emails(emails)
    return PolicyChanges(changes.target, changes.expiry, changes.approvals_required, url, emails)


def _checked_emails(emails) -> list[str]:
    cleaned = []
    for address in emails:
        address = str(address).strip()
        try:
            validate_email(address)
        except ValidationError:
            raise PolicyInvalid("notify_email", f"{address!r} is not an email address") from None
        if address.lower() not in (known.lower() for known in cleaned):
            cleaned.append(address)
    if len(cleaned) > MAX_NOTIFY_EMAILS:
        raise PolicyInvalid("notify_email", f"at most {MAX_NOTIFY_EMAILS} addresses")
    return cleaned


def _apply(policy: MailboxPolicy, changes: PolicyChanges) -> None:
    if changes.target is not UNSET:
        policy.target = changes.target
    if changes.expiry is not UNSET:
        policy.expiry = changes.expiry
    if changes.approvals_required is not UNSET:
        policy.approvals_required = changes.approvals_required
    if changes.slack_webhook_url is not UNSET:
        url = changes.slack_webhook_url
        policy.slack_webhook_encrypted = secret_encrypt(url) if url else ""
        policy.slack_webhook_hint = webhook_hint(url) if url else ""
    if changes.notify_emails is not UNSET:
        policy.notify_emails = changes.notify_emails
