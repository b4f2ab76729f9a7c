"""Every write to mailboxes, routing rules and intake tokens. Each is audited with old and new values.

MultiMail is called first, outside any transaction; the local mirror and its audit event are then
written together, so the record never claims a change MultiMail did not make.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from reviewqueue.accounts.models import hash_token
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.integrations.multimail.webhook_events import WEBHOOK_EVENTS
from reviewqueue.routing.crypto import secret_encrypt
from reviewqueue.routing.models import IntakeToken, Mailbox, RoutingRuleSet, oversight_rank, sent_without_review
from reviewqueue.routing.rules import Rule, kinds_clean

logger = logging.getLogger(__name__)

_MIRRORED_FIELDS = ("address", "display_name", "oversight_mode", "webhook_url", "is_active")


MULTIMAIL_WEBHOOK_PATH = "/webhooks/multimail"


class WebhookUrlRefused(ValueError):
    """A webhook subscription may only point at this site's own receiver: MultiMail sends every event
    of the mailbox there, email content included."""


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


def site_origins() -> list[str]:
    """This site's own origins: SITE_URL's, else those of CSRF_TRUSTED_ORIGINS (a wildcard one names no
    single site, so it does not count)."""
    configured = [settings.SITE_URL] if settings.SITE_URL else settings.CSRF_TRUSTED_ORIGINS
    return [origin for origin in map(_origin, configured) if origin and "*" not in origin]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def webhook_url_default() -> str | None:
    """This site's MultiMail receiver, or None when no origin is configured."""
    origins = site_origins()
    return origins[0] + MULTIMAIL_WEBHOOK_PATH if origins else None


def webhook_url_check(url: str) -> None:
    """Raise WebhookUrlRefused unless `url` is exactly this site's MultiMail receiver."""
    origins = site_origins()
    if not origins:
        raise WebhookUrlRefused(
            "set SITE_URL (or CSRF_TRUSTED_ORIGINS) to this site's address: webhooks go to the site's own receiver only"
        )
    parts = urlsplit(url)
    exact = not (parts.query or parts.fragment) and parts.path.rstrip("/") == MULTIMAIL_WEBHOOK_PATH
    if not exact or _origin(url) not in origins:
        allowed = " or ".join(origin + MULTIMAIL_WEBHOOK_PATH for origin in origins)
        raise WebhookUrlRefused(f"the URL must be this site's own receiver, {allowed}")


def mailbox_webhook_subscribe(
    *, mailbox: Mailbox, url: str, actor: Actor, origin: RequestOrigin | None = None
) -> Mailbox:
    """Subscribe `url` (our /webhooks/multimail) to the mailbox's events; keep the secret encrypted.

    Raises WebhookUrlRefused when `url` is not this site's own receiver (webhook_url_check).
    """
    webhook_url_check(url)
    client = _client()
    webhook = client.create_webhook(url=url, events=list(WEBHOOK_EVENTS), mailbox_id=mailbox.mailbox_id)
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


class UnreviewedRouteNotConfirmed(Exception):
    """The rules route drafts to a mailbox that sends without review, and the admin has not said yes to that."""

    def __init__(self, unreviewed: dict[str, str]):
        self.unreviewed = unreviewed
        listed = ", ".join(f"{mailbox_id} ({mode or 'mode unknown'})" for mailbox_id, mode in unreviewed.items())
        super().__init__(f"drafts routed to {listed} are sent without review: confirm that to save these rules")


def ruleset_modes(*, rules: list[Rule], default_mailbox_id: str) -> dict[str, str]:
    """{mailbox_id: its oversight mode as last mirrored} for every mailbox the rules route to ('' if unknown)."""
    routed = {rule.mailbox_id for rule in rules} | {default_mailbox_id}
    mirrored = dict(Mailbox.objects.filter(mailbox_id__in=routed).values_list("mailbox_id", "oversight_mode"))
    return {mailbox_id: mirrored.get(mailbox_id, "") for mailbox_id in sorted(routed)}


def unreviewed_modes(modes: dict[str, str]) -> dict[str, str]:
    """The part of `modes` whose mailboxes send without review."""
    return {mailbox_id: mode for mailbox_id, mode in modes.items() if sent_without_review(mode)}


def ruleset_save(
    *,
    rules: list[Rule],
    default_mailbox_id: str,
    actor: Actor,
    user=None,
    note: str = "",
    confirm_unreviewed: bool = False,
    origin: RequestOrigin | None = None,
) -> RoutingRuleSet:
    """Save the rules as a new version, which becomes the active one. Earlier versions stay as they were.

    Each routed mailbox's oversight mode is recorded with the version (intake refuses to send to one
    that has since become looser). Rules routing to a mailbox that sends without review (looser than
    gated_send, or of unknown mode) need `confirm_unreviewed`, else UnreviewedRouteNotConfirmed; the
    confirmation is audited as its own event.
    """
    modes = ruleset_modes(rules=rules, default_mailbox_id=default_mailbox_id)
    unreviewed = unreviewed_modes(modes)
    if unreviewed and not confirm_unreviewed:
        raise UnreviewedRouteNotConfirmed(unreviewed)
    with transaction.atomic():
        # Serialize saves so two admins never both become version N+1.
        list(RoutingRuleSet.objects.select_for_update().order_by("-version")[:1])
        previous = RoutingRuleSet.objects.order_by("-version").first()
        version = (RoutingRuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        ruleset = RoutingRuleSet.objects.create(
            version=version,
            rules=[rule.as_json() for rule in rules],
            default_mailbox_id=default_mailbox_id,
            mailbox_modes=modes,
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
                "new": {
                    "version": version,
                    "rules": ruleset.rules,
                    "default_mailbox_id": default_mailbox_id,
                    "mailbox_modes": modes,
                },
            },
            origin=origin,
        )
        if unreviewed:
            audit_record(
                actor=actor,
                action="routing.unreviewed_confirmed",
                target_type="routing_ruleset",
                target_id=ruleset.pk,
                payload={"version": version, "sent_without_review": unreviewed},
                origin=origin,
            )
    return ruleset


@transaction.atomic
def intake_token_issue(
    *, name: str, actor: Actor, kinds: Iterable[str] = (), user=None, origin: RequestOrigin | None = None
) -> tuple[IntakeToken, str]:
    """A new intake token that may submit drafts of `kinds` (and drafts without a kind); the raw key is
    returned once and never stored. ValueError names a kind that is not one (rules.KIND_PATTERN)."""
    kinds = kinds_clean(kinds)
    raw = IntakeToken.new_raw_key()
    token = IntakeToken.objects.create(
        name=name, key_hash=hash_token(raw), key_hint=raw[:10], created_by=user, kinds=kinds
    )
    audit_record(
        actor=actor,
        action="intake_token.issued",
        target_type="intake_token",
        target_id=token.pk,
        payload={"name": name, "hint": token.key_hint, "old": None, "new": {"revoked": False, "kinds": kinds}},
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
