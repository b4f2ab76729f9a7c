"""POST /api/v1/drafts/bulk-decision: one decision per draft, for up to 100 drafts, answered per id.

body {"ids": [int, …] (1..100), "action": "reject"|"approve", "reason": str,
      "snapshot_ids": {"<id>": int}?  (approve: each draft's latest_snapshot_id as read)}
200 {"action", "done": int, "not_done": int, "results": [BulkResult]} in the order of the ids
    BulkResult {id, status: "done"|"already_decided"|"claimed"|"context_changed"|"content_not_in"|
                "not_pending"|"awaiting_second_approval"|"same_approver"|"flagged"|"not_found"|"failed",
                error?: str, decision?: Decision,
                claimed_by?: Person, expires_at?}
    status "done" carries the new decision; "already_decided" the one that won.
400 {"error", "fields"?}: not JSON, no ids, more than 100 ids (the message says so), an id that is
    not a positive integer, bad action, a rejection without a reason.
Each draft is decided on its own (review/bulk.py): one refused or failing draft never undoes another.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import api_role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse
from reviewqueue.review.api import decision_json
from reviewqueue.review.bulk import (
    BULK_DECISION_ACTIONS,
    MAX_BULK_IDS,
    BulkOutcome,
    Result,
    drafts_bulk_decide,
)
from reviewqueue.review.models import Decision
from reviewqueue.text import UNSTORABLE_MESSAGE, is_storable

MAX_BODY_BYTES = 64 * 1024
USAGE = '{"ids": [1, 2], "action": "reject", "reason": "…"}'


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _is_id(value) -> bool:
    return type(value) is int and value > 0


def _ids_problem(ids) -> str:
    if not isinstance(ids, list) or not ids:
        return f"must be a list of 1 to {MAX_BULK_IDS} draft ids"
    if not all(_is_id(value) for value in ids):
        return "every id must be a positive integer"
    if len(set(ids)) > MAX_BULK_IDS:
        return f"at most {MAX_BULK_IDS} ids per request; {len(set(ids))} were sent (split them into batches)"
    return ""


def _reason_problem(body: dict) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        return "must be a string"
    if len(reason) > 2000:
        return "at most 2000 characters"
    if not is_storable(reason):
        return UNSTORABLE_MESSAGE
    if body.get("action") == Decision.Action.REJECT and not reason.strip():
        return "a rejection needs a reason"
    return ""


def _snapshot_ids(body: dict) -> tuple[dict[int, int], str]:
    raw = body.get("snapshot_ids") or {}
    if not isinstance(raw, dict):
        return {}, "must be an object of draft id to latest_snapshot_id"
    parsed = {}
    for key, value in raw.items():
        if not (isinstance(key, str) and key.isdigit() and _is_id(value)):
            return {}, "each key must be a draft id and each value a positive integer"
        parsed[int(key)] = value
    return parsed, ""


def _bulk_body(request) -> tuple[dict | None, JsonResponse | None]:
    if len(request.body) > MAX_BODY_BYTES:
        return None, _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json_body_parse(request.body)
    except JsonBodyInvalid as error:
        return None, _error(400, f"{error}; send {USAGE}")
    if not isinstance(body, dict):
        return None, _error(400, f"body must be a JSON object: {USAGE}")
    fields = {}
    if problem := _ids_problem(body.get("ids")):
        fields["ids"] = problem
    if body.get("action") not in BULK_DECISION_ACTIONS:
        fields["action"] = f"must be {' or '.join(BULK_DECISION_ACTIONS)}"
    if problem := _reason_problem(body):
        fields["reason"] = problem
    body["snapshot_ids"], problem = _snapshot_ids(body)
    if problem:
        fields["snapshot_ids"] = problem
    if fields:
        return None, _error(400, fields.get("ids") if "ids" in fields else "invalid bulk decision", fields=fields)
    return body, None


def _person(user) -> dict:
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name(), "email": user.email}


def outcome_json(outcome: BulkOutcome) -> dict:
    answer = {"id": outcome.draft_id, "status": outcome.result}
    if outcome.message:
        answer["error"] = outcome.message
    if outcome.decision is not None:
        answer["decision"] = decision_json(outcome.decision)
    if outcome.result == Result.CLAIMED and outcome.claim is not None:
        answer["claimed_by"] = _person(outcome.claim.holder)
        answer["expires_at"] = outcome.claim.expires_at.isoformat()
    return answer


@csrf_exempt  # bearer tokens, never cookies
@require_POST
@api_role_required("reviewer")
def drafts_bulk_decision(request):
    body, problem = _bulk_body(request)
    if problem is not None:
        return problem
    outcomes = drafts_bulk_decide(
        draft_ids=body["ids"],
        reviewer=request.user,
        action=body["action"],
        reason=body.get("reason", ""),
        origin=Decision.Origin.API,
        shown_snapshot_ids=body["snapshot_ids"],
        request_origin=request_origin(request),
    )
    done = sum(1 for outcome in outcomes if outcome.done)
    return JsonResponse(
        {
            "action": body["action"],
            "done": done,
            "not_done": len(outcomes) - done,
            "results": [outcome_json(outcome) for outcome in outcomes],
        }
    )
