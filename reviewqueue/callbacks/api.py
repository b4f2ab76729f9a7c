"""GET /api/v1/drafts/<id> for agents: the intake token that submitted a draft polls its outcome,
for agents that cannot receive callbacks (Fin data connectors). review/api.py hands a request
carrying an intake token (rqi_…) here; personal tokens keep the reviewers' view.

200 {"draft_id", "status", "email_id", "final_email_id", "conversation_id", "revision_of",
     "revision_number", "decision": {...} | null, "email": {...}} (payloads.py; the same `data` as
     the callbacks')
401 {"error"}: not an active intake token (WWW-Authenticate: Bearer)
404 {"error"}: no such draft, or one another token submitted (the answer is the same: an agent
     cannot learn which ids exist)
"""

from django.http import JsonResponse

from reviewqueue.accounts.tokens import authenticate_bearer, bearer_key
from reviewqueue.callbacks import payloads, services
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import IntakeToken


def is_agent_request(request) -> bool:
    """The request carries an intake token (its prefix says so; whether it is valid is checked later)."""
    key = bearer_key(request)
    return key is not None and key.startswith(IntakeToken.PREFIX)


def agent_draft_get(request, draft_id: int) -> JsonResponse:
    token = authenticate_bearer(request, IntakeToken.objects.all())
    if token is None:
        answer = JsonResponse({"error": "a valid intake token is required (Authorization: Bearer rqi_…)"}, status=401)
        answer["WWW-Authenticate"] = "Bearer"
        return answer
    draft = Draft.objects.filter(pk=draft_id).first()
    submitter = services.token_of(draft) if draft is not None else None
    if submitter is None or submitter.pk != token.pk:
        return JsonResponse({"error": f"no draft {draft_id} submitted with this token"}, status=404)
    return JsonResponse(payloads.draft_state(draft, sent_at=_sent_at(draft)))


def _sent_at(draft: Draft):
    """When MultiMail said it sent the email: known from the draft.sent callback, when one was queued."""
    sent = CallbackDelivery.objects.filter(draft=draft, event=CallbackDelivery.Event.SENT).first()
    return sent.created_at if sent is not None else None
