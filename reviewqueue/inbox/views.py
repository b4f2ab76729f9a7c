"""POST /integrations/intercom/canvas/initialize and /submit: verify → parse → panel.

Exempt from CSRF only (Intercom's servers post them, with no session): each is verified by
`X-Body-Signature` (integrations/intercom/canvas.py) before the body is even parsed. Missing or
wrong: 401 and no canvas. A verified body that is not a JSON object with a conversation, or a
submit naming no known component: 400 saying why. INTERCOM_CLIENT_SECRET unset: 503.
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reviewqueue.accounts.http import client_ip
from reviewqueue.audit.services import RequestOrigin
from reviewqueue.inbox.actions import SubmitInvalid, click_of, panel_submit, reason_of
from reviewqueue.inbox.panel import conversation_panel
from reviewqueue.inbox.teammates import teammate_for
from reviewqueue.integrations.intercom import canvas
from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse

CONVERSATION_ID_MAX = 64  # Draft.conversation_id


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        self.response = JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def canvas_initialize(request):
    try:
        body, conversation_id = _verified_body(request)
    except _Refused as refused:
        return refused.response
    panel = conversation_panel(
        conversation_id=conversation_id, teammate=teammate_for(body.get("admin")), draft_url=_draft_url(request)
    )
    return JsonResponse(panel)


@csrf_exempt
@require_POST
def canvas_submit(request):
    try:
        body, conversation_id = _verified_body(request)
        click = click_of(body.get("component_id"))
        reason = reason_of(_object(body, "input_values"), click.draft_id)
    except _Refused as refused:
        return refused.response
    except SubmitInvalid as invalid:
        return JsonResponse({"error": str(invalid)}, status=400)
    panel = panel_submit(
        conversation_id=conversation_id,
        teammate=teammate_for(body.get("admin")),
        click=click,
        reason=reason,
        shown=_shown(body, conversation_id),
        draft_url=_draft_url(request),
        request_origin=_request_origin(request, body),
    )
    return JsonResponse(panel)


def _verified_body(request) -> tuple[dict, str]:
    secret = settings.INTERCOM_CLIENT_SECRET
    if not secret:
        raise _Refused(503, "INTERCOM_CLIENT_SECRET is not set: Intercom's requests cannot be verified")
    if not canvas.verify_signature(request.body, request.headers.get(canvas.HEADER), secret):
        raise _Refused(
            401,
            f"{canvas.HEADER} is missing or does not match (expected the hex HMAC-SHA256 of the body, "
            "keyed by the app's client secret)",
        )
    try:
        body = json_body_parse(request.body)
    except JsonBodyInvalid as error:
        raise _Refused(400, str(error)) from None
    if not isinstance(body, dict):
        raise _Refused(400, "expected a JSON object")
    conversation = body.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else None
    if isinstance(conversation_id, int) and not isinstance(conversation_id, bool):
        conversation_id = str(conversation_id)
    if not isinstance(conversation_id, str) or not conversation_id or len(conversation_id) > CONVERSATION_ID_MAX:
        raise _Refused(400, "conversation.id is missing or not an Intercom conversation id")
    return body, conversation_id


def _object(body: dict, key: str) -> dict:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _shown(body: dict, conversation_id: str) -> dict:
    """Which drafts the clicked panel showed, with the snapshot each was drawn on (our own stored_data)."""
    stored = _object(_object(body, "current_canvas"), "stored_data")
    shown = stored.get("shown")
    if stored.get("conversation_id") != conversation_id or not isinstance(shown, dict):
        return {}
    return {
        key: value
        for key, value in shown.items()
        if value is None or (isinstance(value, int) and not isinstance(value, bool))
    }


def _draft_url(request):
    site = (settings.SITE_URL or "").rstrip("/")

    def draft_url(draft_id: int) -> str:
        path = reverse("review:draft", args=[draft_id])
        return f"{site}{path}" if site else request.build_absolute_uri(path)

    return draft_url


def _request_origin(request, body: dict) -> RequestOrigin:
    """Intercom's server made the request; the audit keeps which Intercom teammate clicked."""
    admin = _object(body, "admin")
    agent = f"Intercom Inbox app; admin {admin.get('id', '?')}; {request.META.get('HTTP_USER_AGENT', '')}"
    return RequestOrigin(ip=client_ip(request), user_agent=agent[:512])
