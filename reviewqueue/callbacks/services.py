"""Callback endpoints (an intake token's URL and secret) and the deliveries queued for them.

For other engineers
-------------------
- `endpoint_set(token=, url=, actor=)` -> (endpoint, new_secret | None): saves the URL after
  reviewqueue/outbound.py's check (OutboundURLRefused, a message for the admin); a token's first
  URL gets a new whsec_ secret, returned once.
- `endpoint_remove`, `secret_rotate` (the new secret, returned once).
- `callback_queue(draft_id=, event=, happened_at=)`: called by receivers.py; at most one delivery per
  (draft, event), only for drafts submitted through intake by a token with a callback, not revoked.
- `callbacks_missed_queue()`: beat's repair of decision callbacks whose signal was lost (see there).
- `delivery_redeliver(delivery=, actor=)`: an admin's "send it again", same webhook-id.
- `callback_secrets_reencrypt(actor=)`: `manage.py rotate_keys`, after a key change.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reviewqueue import outbound
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.callbacks import enqueue, payloads, signing
from reviewqueue.callbacks.models import CallbackDelivery, CallbackEndpoint
from reviewqueue.review.models import Draft
from reviewqueue.routing.crypto import (
    SecretsRotation,
    secret_decrypt,
    secret_encrypt,
    secrets_reencrypt,
)
from reviewqueue.routing.models import IntakeRecord, IntakeToken

# Retries go on, with exponential backoff, until the first failure this long after the event (or
# after an admin's redelivery): at least a day, as the issue asks.
RETRY_WINDOW = timedelta(hours=24)


def _audit(actor: Actor, action: str, token: IntakeToken, origin: RequestOrigin | None, **payload) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="intake_token",
        target_id=token.pk,
        payload={"name": token.name, **payload},
        origin=origin,
    )


def endpoint_set(
    *, token: IntakeToken, url: str, actor: Actor, origin: RequestOrigin | None = None
) -> tuple[CallbackEndpoint, str | None]:
    """Give `token` the callback `url` (checked: https, public address). Returns the endpoint and, when
    the token had no callback before, its new secret (shown once; never readable again)."""
    url = outbound.check_outbound_url(url)  # resolves the host: before the transaction, not inside it
    if len(url) > 2000:
        raise outbound.OutboundURLRefused("the URL is longer than 2000 characters")
    with transaction.atomic():
        return _endpoint_save(token=token, url=url, actor=actor, origin=origin)


def _endpoint_save(
    *, token: IntakeToken, url: str, actor: Actor, origin: RequestOrigin | None
) -> tuple[CallbackEndpoint, str | None]:
    existing = CallbackEndpoint.objects.select_for_update().filter(token=token).first()
    if existing is not None:
        old = existing.url
        existing.url, existing.updated_at = url, timezone.now()
        existing.save(update_fields=["url", "updated_at"])
        _audit(actor, "callback.url_changed", token, origin, old={"url": old}, new={"url": url})
        return existing, None
    secret = signing.secret_new()
    endpoint = CallbackEndpoint.objects.create(
        token=token, url=url, secret_encrypted=secret_encrypt(secret), secret_hint=secret[:10]
    )
    _audit(actor, "callback.url_set", token, origin, old=None, new={"url": url, "secret_hint": endpoint.secret_hint})
    return endpoint, secret


@transaction.atomic
def secret_rotate(*, endpoint: CallbackEndpoint, actor: Actor, origin: RequestOrigin | None = None) -> str:
    """A new secret for the endpoint (returned once); the next attempt of every delivery is signed with it."""
    secret = signing.secret_new()
    old_hint = endpoint.secret_hint
    endpoint.secret_encrypted, endpoint.secret_hint = secret_encrypt(secret), secret[:10]
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=["secret_encrypted", "secret_hint", "updated_at"])
    _audit(
        actor,
        "callback.secret_rotated",
        endpoint.token,
        origin,
        old={"secret_hint": old_hint},
        new={"secret_hint": secret[:10]},
    )
    return secret


@transaction.atomic
def endpoint_remove(*, endpoint: CallbackEndpoint, actor: Actor, origin: RequestOrigin | None = None) -> None:
    """No more callbacks for the token; its delivery log stays (deliveries still due then fail)."""
    _audit(actor, "callback.removed", endpoint.token, origin, old={"url": endpoint.url}, new=None)
    endpoint.delete()


def endpoint_secret(endpoint: CallbackEndpoint) -> str:
    return secret_decrypt(endpoint.secret_encrypted)


def token_of(draft: Draft) -> IntakeToken | None:
    """The intake token that submitted `draft` (the agent's own draft, see payloads.agent_draft)."""
    record = IntakeRecord.objects.select_related("token").filter(draft_id=draft.pk).order_by("created_at").first()
    return record.token if record is not None else None


# The token that submitted a draft (token_of's: its first intake record), whether it is not revoked, whether it
# has a callback, and whether the draft's event is already queued: one statement, written out because the
# ORM's compiling of the same query (two EXISTS) cost more CPU than running it, on every decision and email
# event of every draft.
_TOKEN_TO_TELL = (
    "SELECT r.token_id, t.revoked_at IS NULL, "
    "EXISTS (SELECT 1 FROM callbacks_callbackendpoint e WHERE e.token_id = r.token_id), "
    "EXISTS (SELECT 1 FROM callbacks_callbackdelivery d WHERE d.draft_id = r.draft_id AND d.event = %s) "
    "FROM routing_intakerecord r JOIN routing_intaketoken t ON t.id = r.token_id "
    "WHERE r.draft_id = %s ORDER BY r.created_at LIMIT 1"
)


def _token_to_tell(draft: Draft, event: str) -> int | None:
    """The id of the token that submitted `draft`, when its agent is to be told `event`: the token not
    revoked (its agent is told nothing more; delivery.py fails its pending ones), with a callback, and
    no delivery of `event` for the draft yet."""
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_TO_TELL, [event, draft.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, not_revoked, has_callback, already_queued = row
    return token_id if not_revoked and has_callback and not already_queued else None


def callback_queue(*, draft_id: int, event: str, happened_at: datetime | None = None) -> CallbackDelivery | None:
    """Queue `event` for the agent whose draft this is, if its token has a callback. Idempotent per
    (draft, event): the signals behind it are sent at least once. Returns the new delivery, or None."""
    draft = payloads.agent_draft(payloads.with_decision(Draft.objects).get(pk=draft_id))
    token_id = _token_to_tell(draft, event)
    if token_id is None:
        return None
    happened_at = happened_at or timezone.now()
    sent_at = happened_at if event == CallbackDelivery.Event.SENT else None
    body = payloads.event_body(event=event, draft=draft, happened_at=happened_at, sent_at=sent_at)
    try:
        with transaction.atomic():
            delivery = CallbackDelivery.objects.create(
                token_id=token_id,
                draft=draft,
                event=event,
                webhook_id=signing.webhook_id_new(),
                body=body,
                retry_until=timezone.now() + RETRY_WINDOW,
            )
            transaction.on_commit(lambda: enqueue.delivery_run(delivery.pk))
    except IntegrityError:
        return None  # queued by a concurrent copy of the same signal
    return delivery


MISSED_GRACE = timedelta(seconds=60)  # the signal queues a decision's callback within a second or so
MISSED_WINDOW = timedelta(hours=2)  # far longer than the repair's period (beat: every 5 minutes)


def callbacks_missed_queue(*, now: datetime | None = None) -> int:
    """Queue the decision callbacks a lost `decision_carried_out` never queued. The signal is sent after
    the commit that records the decide done, so a worker killed (or a database gone) between that commit
    and callback_queue leaves a decision carried out with no callback, and nothing re-drives a done
    item (the soak found one in 1,000 drafts). Looks at decides done within MISSED_WINDOW, past
    MISSED_GRACE, for drafts an intake token with a callback submitted. Returns how many it queued."""
    from django.db.models import Exists, OuterRef

    from reviewqueue.review.models import OutboxItem
    from reviewqueue.review.signals import EVENT_BY_ACTION

    now = now or timezone.now()
    with_callback = IntakeRecord.objects.filter(token__callback__isnull=False, token__revoked_at__isnull=True)
    queued = CallbackDelivery.objects.filter(draft_id=OuterRef("draft_id"), event__in=EVENT_BY_ACTION.values())
    missed = (
        OutboxItem.objects.filter(
            kind=OutboxItem.Kind.DECIDE,
            status=OutboxItem.Status.DONE,
            done_at__gte=now - MISSED_WINDOW,
            done_at__lte=now - MISSED_GRACE,
            draft_id__in=with_callback.values("draft_id"),
        )
        .filter(~Exists(queued))
        .values_list("draft_id", "decision__action")[:500]
    )
    return sum(callback_queue(draft_id=d, event=EVENT_BY_ACTION[a]) is not None for d, a in missed)


@transaction.atomic
def delivery_redeliver(*, delivery: CallbackDelivery, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    """Send a finished delivery again, now, with the same webhook-id and body (the agent's idempotency
    key still recognises it). False when it is still being tried."""
    now = timezone.now()
    changed = CallbackDelivery.objects.filter(
        pk=delivery.pk, status__in=[CallbackDelivery.Status.FAILED, CallbackDelivery.Status.DELIVERED]
    ).update(
        status=CallbackDelivery.Status.PENDING,
        attempts=0,
        next_attempt_at=now,
        locked_until=None,
        retry_until=now + RETRY_WINDOW,
        redeliveries=delivery.redeliveries + 1,
    )
    if not changed:
        return False
    _audit(
        actor,
        "callback.redelivered",
        delivery.token,
        origin,
        delivery_id=delivery.pk,
        webhook_id=delivery.webhook_id,
        event=delivery.event,
        draft_id=delivery.draft_id,
        previous_status=delivery.status,
    )
    transaction.on_commit(lambda: enqueue.delivery_run(delivery.pk))
    return True


def callback_secrets_reencrypt(*, actor: Actor) -> SecretsRotation:
    """`manage.py rotate_keys`: every callback secret under the current field-encryption key, audited.
    A secret no key we hold opens is left as it is and reported (by token name): rotate it on the
    token's callback page and give the agent the new one."""
    return secrets_reencrypt(
        CallbackEndpoint.objects.select_related("token").order_by("pk"),
        field="secret_encrypted",
        label=lambda endpoint: endpoint.token.name,
        action="keys.callback_secrets_reencrypted",
        actor=actor,
    )
