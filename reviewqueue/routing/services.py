"""Every write to mailboxes, routing rules and intake tokens. Each is audited with old and new values.

MultiMail is called first, outside any transaction; the local mirror and its audit event are then
written together, so the record never claims a change MultiMail did not make.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from reviewqueue.accounts.models import hash_token
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.routing.crypto import secret_encrypt
from reviewqueue.routing.models import IntakeToken, Mailbox, RoutingRuleSet, oversight_rank
from reviewqueue.routing.rules import Rule

logger = logging.getLogger(__name__)

# Every event MultiMail can send: the receiver stores them all and acts on the ones it knows.
WEBHOOK_EVENTS = [
    "message.received",
    "message.sent",
    "message.delivered",
    "message.bounced",
    "message.complained",
    "oversight.pending",
    "oversight.approved",
    "oversight.rejected",
]
_MIRRORED_FIELDS = ("address", "display_name", "oversight_mode", "webhook_url", "is_active")


class OversightLooseningRefused(Exception):
    """Loosening oversight needs the operator's emailed code, through MultiMail's upgrade flow."""


def _client():
    from reviewqueue.integrations.multimail.client import get_multimail_client

    return get_multimail_client()


def _mirror(mailbox: Mailbox) -> dict:
    return {name: getattr(mailbox, name) for name in _MIRRORED_FIELDS}


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    deactivated: int


def mailboxes_sync(*, actor: Actor, origin: RequestOrigin | None = None) -> SyncResult:
    """Make the local list match MultiMail's; mailboxes MultiMail no longer lists become inactive."""
    remote = _client().list_mailboxes()
    now = timezone.now()
    created = updated = deactivated = 0
    with transaction.atomic():
        local = {m.mailbox_id: m for m in Mailbox.objects.select_for_update()}
        for box in remote:
            new = {
                "address": box.address or "",
                "display_name": box.display_name or "",
                "oversight_mode": box.oversight_mode or "",
                "webhook_url": box.webhook_url or "",
                "is_active": bool(box.is_active),
            }
            mailbox = local.pop(box.id, None)
            if mailbox is None:
                mailbox = Mailbox.objects.create(mailbox_id=box.id, synced_at=now, **new)
                created += 1
                _audit_mailbox(actor, origin, "mailbox.synced", mailbox, old=None, new=new)
                continue
            old = _mirror(mailbox)
            if old != new:
                updated += 1
                _audit_mailbox(actor, origin, "mailbox.synced", mailbox, old=old, new=new)
            Mailbox.objects.filter(pk=mailbox.pk).update(synced_at=now, **new)
        for mailbox in local.values():
            if mailbox.is_active:
                deactivated += 1
                _audit_mailbox(
                    actor, origin, "mailbox.synced", mailbox, old={"is_active": True}, new={"is_active": False}
                )
            Mailbox.objects.filter(pk=mailbox.pk).update(is_active=False, synced_at=now)
    return SyncResult(created=created, updated=updated, deactivated=deactivated)


def _audit_mailbox(actor, origin, action, mailbox, *, old, new, **extra) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="mailbox",
        target_id=mailbox.mailbox_id,
        payload={"mailbox_id": mailbox.mailbox_id, "address": mailbox.address, "old": old, "new": new, **extra},
        origin=origin,
    )


@dataclass(frozen=True)
class ProvisionResult:
    mailbox: Mailbox | None
    awaiting_approval_code: bool
    message: str


def mailbox_provision(
    *,
    address_local: str,
    display_name: str,
    actor: Actor,
    approval_code: str | None = None,
    origin: RequestOrigin | None = None,
) -> ProvisionResult:
    """Create a mailbox at MultiMail. MultiMail may first email the operator a code to send back.

    Raises the client's MultiMailConflict (address taken) and MultiMailForbidden (plan limit).
    """
    creation = _client().create_mailbox(
        address_local=address_local, display_name=display_name or None, approval_code=approval_code or None
    )
    if creation.awaiting_approval_code or not creation.id:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="mailbox.approval_requested",
                target_type="mailbox",
                target_id=address_local,
                payload={"address_local": address_local, "display_name": display_name, "message": creation.message},
                origin=origin,
            )
        return ProvisionResult(mailbox=None, awaiting_approval_code=True, message=creation.message)
    new = {
        "address": creation.address or address_local,
        "display_name": display_name,
        "oversight_mode": "gated_send",  # MultiMail starts every new mailbox gated_send
        "webhook_url": "",
        "is_active": True,
    }
    with transaction.atomic():
        mailbox, _ = Mailbox.objects.update_or_create(
            mailbox_id=creation.id, defaults={**new, "synced_at": timezone.now()}
        )
        _audit_mailbox(actor, origin, "mailbox.created", mailbox, old=None, new=new)
    return ProvisionResult(mailbox=mailbox, awaiting_approval_code=False, message=creation.message or "")


def mailbox_rename(
    *, mailbox: Mailbox, display_name: str, actor: Actor, origin: RequestOrigin | None = None
) -> Mailbox:
    _client().update_mailbox(mailbox_id=mailbox.mailbox_id, display_name=display_name)
    with transaction.atomic():
        old = mailbox.display_name
        Mailbox.objects.filter(pk=mailbox.pk).update(display_name=display_name)
        mailbox.display_name = display_name
        _audit_mailbox(
            actor, origin, "mailbox.renamed", mailbox, old={"display_name": old}, new={"display_name": display_name}
        )
    return mailbox


def mailbox_oversight_tighten(
    *, mailbox: Mailbox, oversight_mode: str, actor: Actor, origin: RequestOrigin | None = None
) -> Mailbox:
    """Move a mailbox to a stricter oversight mode. A looser one is refused: it needs the operator."""
    if oversight_rank(oversight_mode) >= oversight_rank(mailbox.oversight_mode):
        raise OversightLooseningRefused(
            f"{oversight_mode} is not stricter than {mailbox.oversight_mode}: loosening oversight needs the "
            "approval code MultiMail emails to the operator (MultiMail's upgrade request), not this page"
        )
    _client().update_mailbox(mailbox_id=mailbox.mailbox_id, oversight_mode=oversight_mode)
    with transaction.atomic():
        old = mailbox.oversight_mode
        Mailbox.objects.filter(pk=mailbox.pk).update(oversight_mode=oversight_mode)
        mailbox.oversight_mode = oversight_mode
        _audit_mailbox(
            actor,
            origin,
            "mailbox.oversight_tightened",
            mailbox,
            old={"oversight_mode": old},
            new={"oversight_mode": oversight_mode},
        )
    return mailbox


def mailbox_webhook_subscribe(
    *, mailbox: Mailbox, url: str, actor: Actor, origin: RequestOrigin | None = None
) -> Mailbox:
    """Subscribe `url` (our /webhooks/multimail) to the mailbox's events; keep the secret encrypted."""
    client = _client()
    webhook = client.create_webhook(url=url, events=WEBHOOK_EVENTS, mailbox_id=mailbox.mailbox_id)
    old = {"subscription_id": mailbox.webhook_subscription_id}
    with transaction.atomic():
        Mailbox.objects.filter(pk=mailbox.pk).update(
            webhook_subscription_id=webhook.id, webhook_secret_encrypted=secret_encrypt(webhook.signing_secret)
        )
        mailbox.webhook_subscription_id = webhook.id
        _audit_mailbox(
            actor,
            origin,
            "mailbox.webhook_subscribed",
            mailbox,
            old=old,
            new={"subscription_id": webhook.id, "url": url, "events": list(webhook.events or WEBHOOK_EVENTS)},
        )
    if old["subscription_id"] and old["subscription_id"] != webhook.id:
        _webhook_forget(client, old["subscription_id"])
    return mailbox


def _webhook_forget(client, webhook_id: str) -> None:
    """Delete a replaced subscription, so MultiMail does not deliver each event twice."""
    from reviewqueue.integrations.multimail.client import MultiMailError, MultiMailNotFound

    try:
        client.delete_webhook(webhook_id=webhook_id)
    except MultiMailNotFound:
        pass
    except MultiMailError:
        logger.warning("could not delete replaced webhook subscription %s", webhook_id, exc_info=True)


def ruleset_save(
    *,
    rules: list[Rule],
    default_mailbox_id: str,
    actor: Actor,
    user=None,
    note: str = "",
    origin: RequestOrigin | None = None,
) -> RoutingRuleSet:
    """Save the rules as a new version, which becomes the active one. Earlier versions stay as they were."""
    with transaction.atomic():
        # Serialize saves so two admins never both become version N+1.
        list(RoutingRuleSet.objects.select_for_update().order_by("-version")[:1])
        previous = RoutingRuleSet.objects.order_by("-version").first()
        version = (RoutingRuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        ruleset = RoutingRuleSet.objects.create(
            version=version,
            rules=[rule.as_json() for rule in rules],
            default_mailbox_id=default_mailbox_id,
            note=note,
            created_by=user,
        )
        audit_record(
            actor=actor,
            action="routing.saved",
            target_type="routing_ruleset",
            target_id=ruleset.pk,
            payload={
                "version": version,
                "note": note,
                "old": None
                if previous is None
                else {
                    "version": previous.version,
                    "rules": previous.rules,
                    "default_mailbox_id": previous.default_mailbox_id,
                },
                "new": {"version": version, "rules": ruleset.rules, "default_mailbox_id": default_mailbox_id},
            },
            origin=origin,
        )
    return ruleset


@transaction.atomic
def intake_token_issue(
    *, name: str, actor: Actor, user=None, origin: RequestOrigin | None = None
) -> tuple[IntakeToken, str]:
    """A new intake token; the raw key is returned once and never stored."""
    raw = IntakeToken.new_raw_key()
    token = IntakeToken.objects.create(name=name, key_hash=hash_token(raw), key_hint=raw[:10], created_by=user)
    audit_record(
        actor=actor,
        action="intake_token.issued",
        target_type="intake_token",
        target_id=token.pk,
        payload={"name": name, "hint": token.key_hint, "old": None, "new": {"revoked": False}},
        origin=origin,
    )
    return token, raw


@transaction.atomic
def intake_token_revoke(*, token: IntakeToken, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    changed = IntakeToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if changed:
        audit_record(
            actor=actor,
            action="intake_token.revoked",
            target_type="intake_token",
            target_id=token.pk,
            payload={"name": token.name, "hint": token.key_hint, "old": {"revoked": False}, "new": {"revoked": True}},
            origin=origin,
        )
    return bool(changed)
