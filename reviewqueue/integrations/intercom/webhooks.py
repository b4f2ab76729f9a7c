"""POST/HEAD /webhooks/intercom: verify → parse → store once → enqueue after commit → answer.

Intercom waits 5 s and prioritises endpoints that answer within 500 ms, so nothing slow happens
here: the handling (fetching the conversation, marking drafts) runs in `intercom_webhook_handle`.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reviewqueue.integrations.background import BackgroundPublisher
from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import body_fingerprint, inbound_store
from reviewqueue.integrations.intercom.notifications import (
    CONVERSATION_TOPICS,
    PING_TOPIC,
    conversation_id_of,
    newest_part_is_our_own_note,
)
from reviewqueue.integrations.intercom.signature import verify_signature
from reviewqueue.integrations.intercom.tasks import intercom_webhook_handle, intercom_webhooks_fan_out
from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse
from reviewqueue.metrics.counters import counted_webhook

# Handling is published off the request thread (see integrations/background.py).
PUBLISHER = BackgroundPublisher(
    single=intercom_webhook_handle, fan_out=intercom_webhooks_fan_out, name="intercom-webhook-publisher"
)


# Intercom's notifications carry a conversation with its newest parts: well under this. The cap holds
# before the signature is checked, so an unsigned sender can make us read and hash no more than this.
MAX_BODY = 1_000_000
READ_CHUNK = 64 * 1024


def _read_body(request) -> bytes | None:
    """The raw body, or None as soon as it proves larger than MAX_BODY (nothing past that is read)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return None
    chunks, size = [], 0
    while chunk := request.read(READ_CHUNK):
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_http_methods(["POST", "HEAD"])
@counted_webhook("intercom")  # /metrics: deliveries received and refused (POSTs only)
def intercom_webhook(request):
    if request.method == "HEAD":  # Intercom validates the URL with a HEAD request
        return HttpResponse(status=200)
    secret = settings.INTERCOM_CLIENT_SECRET
    if not secret:
        return _error(503, "INTERCOM_CLIENT_SECRET is not set: webhooks cannot be verified")
    raw = _read_body(request)
    if raw is None:
        return _error(413, f"body is larger than {MAX_BODY} bytes")
    if not verify_signature(raw, request.headers.get("X-Hub-Signature"), secret):
        return _error(401, "X-Hub-Signature is missing or does not match (expected sha1=<hex HMAC-SHA1 of the body>)")

    try:
        notification = json_body_parse(raw, stored_whole=True)
    except JsonBodyInvalid as error:
        return _error(400, str(error))
    if not isinstance(notification, dict) or not isinstance(notification.get("topic"), str):
        return _error(400, "expected a notification_event object with a topic")
    topic = notification["topic"]

    if topic == PING_TOPIC:
        status, on_stored = InboundWebhook.Status.PROCESSED, None
    elif topic in CONVERSATION_TOPICS:
        if not conversation_id_of(notification):
            return _error(400, f"{topic} notification has no data.item.id")
        if newest_part_is_our_own_note(notification):
            # Our own note (a decision carried out) changes nothing for reviewers: handling it would only
            # settle it, at the cost of a task per decision. It is kept for the record, already handled.
            status, on_stored = InboundWebhook.Status.PROCESSED, None
        else:
            status, on_stored = InboundWebhook.Status.RECEIVED, PUBLISHER.submit
    else:  # kept for the record, acted on by nobody
        status, on_stored = InboundWebhook.Status.IGNORED, None

    _, stored = _store(notification, raw=raw, topic=topic, status=status, on_stored=on_stored)
    return JsonResponse({"status": "accepted" if stored else "duplicate"})


def _store(notification: dict, *, raw: bytes, topic: str, status: str, on_stored) -> tuple[InboundWebhook | None, bool]:
    delivery_id = notification.get("id")
    if not isinstance(delivery_id, str) or not delivery_id:
        delivery_id = body_fingerprint(raw)
    return inbound_store(
        source=InboundWebhook.Source.INTERCOM,
        delivery_id=delivery_id,
        topic=topic,
        payload=notification,
        status=status,
        on_stored=on_stored,
    )
