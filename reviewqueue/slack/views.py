"""POST /integrations/slack/interactions: verify → read → queue → answer 200, well within Slack's 3 s.

Exempt from CSRF only (Slack's servers post it, with no session): the signature (slack_sdk's
SignatureVerifier, a timestamp at most 5 minutes off) is checked before the body is read. Missing,
wrong, old or replayed: 401. A verified body that is not an interaction payload: 400 saying why.
SLACK_SIGNING_SECRET unset: 503. The work (who the user is, the decision, the modal) is the worker's
(tasks.py); the one thing answered here is a reject modal submitted without a reason, which Slack
shows in the modal (`response_action: errors`).
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reviewqueue.integrations.slack import interactions
from reviewqueue.integrations.slack.signature import request_is_signed
from reviewqueue.slack import enqueue

BODY_MAX = 256 * 1024  # an interaction payload is a few kilobytes


@csrf_exempt
@require_POST
def slack_interactions(request):
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        return JsonResponse(
            {"error": "SLACK_SIGNING_SECRET is not set: Slack's requests cannot be verified"}, status=503
        )
    if int(request.META.get("CONTENT_LENGTH") or 0) > BODY_MAX:
        return JsonResponse({"error": "the body is too large for an interaction payload"}, status=413)
    if not request_is_signed(request.body, request.headers, secret):
        return JsonResponse(
            {
                "error": "X-Slack-Signature / X-Slack-Request-Timestamp missing, wrong, or more than 5 minutes "
                "from now (v0= hex HMAC-SHA256 of v0:{timestamp}:{body}, keyed by the signing secret)"
            },
            status=401,
        )
    try:
        payload = interactions.payload_of(request.body)
        submission = interactions.reject_submission(payload) if payload["type"] == "view_submission" else None
    except interactions.InteractionInvalid as invalid:
        return JsonResponse({"error": str(invalid)}, status=400)
    if submission is not None and (problem := interactions.reason_problem(submission.reason)):
        return JsonResponse({"response_action": "errors", "errors": {interactions.REASON_BLOCK: problem}})
    enqueue.interaction_handle(payload, site=request.build_absolute_uri("/").rstrip("/"))
    return HttpResponse(status=200)
