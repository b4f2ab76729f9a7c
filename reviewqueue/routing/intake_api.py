"""POST /api/v1/drafts: intake's endpoint. The token, the body, then the service; every failure a clear JSON answer."""

import logging

from django.http import JsonResponse

from reviewqueue.accounts.http import request_origin
from reviewqueue.routing.intake import IntakeRefused, IntakeUnroutable, intake_submit
from reviewqueue.routing.intake_cache import intake_reads, intake_token_authenticate
from reviewqueue.routing.intake_payload import IntakeInvalid, intake_parse

logger = logging.getLogger(__name__)


def intake_draft(request) -> JsonResponse:
    """POST /api/v1/drafts (dispatched here by the review API's collection view)."""
    if request.method != "POST":
        return JsonResponse({"error": "intake takes POST"}, status=405, headers={"Allow": "POST"})
    reads = intake_reads()
    token = intake_token_authenticate(request, reads)
    if token is None:
        response = JsonResponse({"error": "a valid intake token is required (Authorization: Bearer …)"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="reviewqueue-intake"'
        return response
    try:
        payload = intake_parse(request)
    except IntakeInvalid as invalid:
        return JsonResponse(invalid.body(), status=invalid.status)
    try:
        result = intake_submit(token=token, payload=payload, origin=request_origin(request), reads=reads)
    except IntakeInvalid as invalid:
        return JsonResponse(invalid.body(), status=invalid.status)
    except IntakeRefused as refused:
        return JsonResponse({"error": str(refused)}, status=409)
    except IntakeUnroutable as error:
        return JsonResponse({"error": str(error)}, status=503)
    except Exception as error:
        response = multimail_error_response(error)
        if response is None:
            raise
        return response
    body = {
        "id": result.draft_id,
        "status": result.status,
        "email_id": result.email_id,
        "mailbox_id": result.mailbox_id,
    }
    return JsonResponse(body, status=202 if result.created else 200)


def multimail_error_response(error: Exception) -> JsonResponse | None:
    """A clear JSON answer for a MultiMail failure; None when `error` is not one."""
    from reviewqueue.integrations.multimail import client as mm

    if not isinstance(error, mm.MultiMailError):
        return None
    logger.warning("intake: MultiMail refused: %s", error)
    if error.transient:  # the same send may go through later: say when, as the poll and the outbox would retry
        return _retry_later(error)
    if isinstance(error, mm.MultiMailNotConfigured):
        return JsonResponse({"error": f"intake is unavailable: {error}"}, status=503)
    if isinstance(error, mm.MultiMailBadRequest):
        return JsonResponse({"error": f"MultiMail refused the email: {_message(error)}"}, status=422)
    if isinstance(error, mm.MultiMailConflict):
        return JsonResponse({"error": f"MultiMail reports a conflict: {_message(error)}"}, status=409)
    # 401/403/404: our configuration is at fault, not the agent's request, and retrying will not mend it.
    return JsonResponse({"error": f"MultiMail failed: {_message(error)}"}, status=502)


def _retry_later(error) -> JsonResponse:
    """429 while MultiMail rate limits us, else 503; with MultiMail's Retry-After when it gave one."""
    if error.status == 429:
        response = JsonResponse({"error": "MultiMail is rate limiting sends; retry later"}, status=429)
    else:
        response = JsonResponse({"error": "MultiMail is unavailable; retry later"}, status=503)
    if error.retry_after:
        response["Retry-After"] = str(int(error.retry_after))
    return response


def _message(error) -> str:
    return str(getattr(error, "message", "") or error)[:500]
