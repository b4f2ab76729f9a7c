"""POST /webhooks/multimail: parse → verify → check the time → store once → enqueue after commit → answer.

A delivery is verified with the secret of the subscription for its own mailbox (the envelope's
`mailbox`), or with MULTIMAIL_WEBHOOK_SECRET, the subscription for the whole account; a secret kept
for one mailbox never verifies another's events. Choosing the secret needs the envelope, so the body
is parsed first, by the strict parser (bounded depth and size); nothing is stored or acted on before
the signature matches. A delivery is stored once (by its `id`, else a hash of the body), and its
handling runs in `multimail_webhook_handle`.

Replay: the signed `timestamp` (multimail-notes.md lists it in every payload) is required, within
TIMESTAMP_TOLERANCE of now, so a captured delivery cannot be played again once its dedupe row is
pruned (after inbound.services.RETENTION, far longer). A late retry is refused too; the poll of
pending drafts and the audit reconciliation catch up.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import body_fingerprint, inbound_store
from reviewqueue.integrations.multimail.events import PayloadError, envelope_mailbox, event_type_of, handler_for
from reviewqueue.integrations.multimail.signature import HEADER, verify_signature
from reviewqueue.integrations.multimail.tasks import multimail_webhook_handle
from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse
from reviewqueue.metrics.counters import counted_webhook
from reviewqueue.routing.crypto import SecretUnreadable, secret_decrypt
from reviewqueue.routing.models import Mailbox

logger = logging.getLogger(__name__)

TIMESTAMP_TOLERANCE = timedelta(minutes=5)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _enqueue_handling(record_id: int) -> None:
    try:
        multimail_webhook_handle.delay(record_id)
    except Exception:  # broker down: the row stays `received`; sync_pending's poll is the safety net
        logger.exception("could not enqueue multimail_webhook_handle(%s)", record_id)


def _signing_secrets(mailbox: Mailbox | None) -> list[str]:
    """MULTIMAIL_WEBHOOK_SECRET, and the secret of the mailbox's own subscription (made on the mailboxes page)."""
    secrets = [settings.MULTIMAIL_WEBHOOK_SECRET]
    if mailbox is not None and mailbox.webhook_secret_encrypted:
        try:
            secrets.append(secret_decrypt(mailbox.webhook_secret_encrypted))
        except SecretUnreadable as error:  # its webhooks fail verification until the key or subscription is renewed
            logger.error("the webhook secret of mailbox %s cannot be decrypted: %s", mailbox.mailbox_id, error)
    return [secret for secret in secrets if secret]


def _sent_at(value) -> datetime | None:
    """The envelope's `timestamp`: ISO 8601 (as the sandbox sends it), or epoch seconds or milliseconds."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        return None if parsed is None or parsed.tzinfo is None else parsed
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # past 5138 AD as seconds: it is milliseconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, ValueError, OSError):
            return None
    return None


def _timestamp_problem(payload: dict) -> str | None:
    """Why the delivery's time is refused, or None."""
    if "timestamp" not in payload:
        return "timestamp is missing: without it a replayed delivery cannot be told from a new one"
    sent_at = _sent_at(payload["timestamp"])
    if sent_at is None:
        return "timestamp must be an ISO 8601 time with its offset, or epoch seconds"
    if abs(timezone.now() - sent_at) > TIMESTAMP_TOLERANCE:
        minutes = TIMESTAMP_TOLERANCE.total_seconds() / 60
        return f"timestamp {payload['timestamp']} is more than {minutes:.0f} minutes from now: refused as a replay"
    return None


@csrf_exempt
@require_POST
@counted_webhook("multimail")  # /metrics: deliveries received and refused
def multimail_webhook(request):
    raw = request.body
    try:
        payload = json_body_parse(raw, stored_whole=True)
    except JsonBodyInvalid as error:
        return _error(400, str(error))
    if not isinstance(payload, dict):
        return _error(400, "expected a JSON object")
    try:
        mailbox = envelope_mailbox(payload)
    except PayloadError as error:
        return _error(400, str(error))

    secrets = _signing_secrets(mailbox)
    if not secrets:
        return _error(
            503, "MULTIMAIL_WEBHOOK_SECRET is not set and this mailbox has no subscription: webhooks cannot be verified"
        )
    if not any(verify_signature(raw, request.headers.get(HEADER), secret) for secret in secrets):
        return _error(
            401,
            f"{HEADER} is missing or does not match (expected hex HMAC-SHA256 of the body, "
            "keyed by the secret of the subscription for the envelope's mailbox)",
        )
    if problem := _timestamp_problem(payload):
        return _error(400, problem)

    event_type = event_type_of(payload)
    known = handler_for(event_type) is not None
    delivery_id = payload.get("id")
    if not isinstance(delivery_id, str) or not delivery_id:
        delivery_id = body_fingerprint(raw)
    _, stored = inbound_store(
        source=InboundWebhook.Source.MULTIMAIL,
        delivery_id=delivery_id,
        topic=event_type,
        payload=payload,
        # An event we do not act on is kept for the record, and nobody is asked to handle it.
        status=InboundWebhook.Status.RECEIVED if known else InboundWebhook.Status.IGNORED,
        on_stored=_enqueue_handling if known else None,
    )
    return JsonResponse({"status": "accepted" if stored else "duplicate"}, status=202 if stored else 200)
