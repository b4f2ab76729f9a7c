"""POST /webhooks/multimail: verify → parse → store once → enqueue after commit → answer.

The signature is checked against the raw body before anything is parsed; a delivery is stored once
(by its `id`, else a hash of the body), and its handling runs in `multimail_webhook_handle`.
"""

import json
import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import body_fingerprint, inbound_store
from reviewqueue.integrations.multimail.events import HANDLERS, event_type_of
from reviewqueue.integrations.multimail.signature import HEADER, verify_signature

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _enqueue_handling(record_id: int) -> None:
    from reviewqueue.integrations.multimail.tasks import multimail_webhook_handle

    try:
        multimail_webhook_handle.delay(record_id)
    except Exception:  # broker down: the row stays `received`; sync_pending's poll is the safety net
        logger.exception("could not enqueue multimail_webhook_handle(%s)", record_id)


def _signing_secrets() -> list[str]:
    """MULTIMAIL_WEBHOOK_SECRET, plus the secrets of subscriptions made on the admin mailboxes page."""
    from reviewqueue.routing.selectors import multimail_webhook_secrets

    return [secret for secret in (settings.MULTIMAIL_WEBHOOK_SECRET, *multimail_webhook_secrets()) if secret]


@csrf_exempt
@require_POST
def multimail_webhook(request):
    secrets = _signing_secrets()
    if not secrets:
        return _error(503, "MULTIMAIL_WEBHOOK_SECRET is not set: webhooks cannot be verified")
    raw = request.body
    header = request.headers.get(HEADER)
    if not any(verify_signature(raw, header, secret) for secret in secrets):
        return _error(401, f"{HEADER} is missing or does not match (expected hex HMAC-SHA256 of the body)")

    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body is not valid JSON")
    if not isinstance(payload, dict):
        return _error(400, "expected a JSON object")
    event_type = event_type_of(payload)

    known = event_type in HANDLERS
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
