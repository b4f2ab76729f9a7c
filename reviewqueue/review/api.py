"""The review API: a person's own token (`Authorization: Bearer rqp_…`), the same rules as the pages.

Endpoints and JSON shapes (the OpenAPI document at /api/v1/openapi.json follows these):

GET /api/v1/drafts?status=pending&mailbox=<id>&flag=<flag>&page=1&per_page=50
    200 {"drafts": [DraftSummary], "page": int, "per_page": int (≤ 200), "total": int, "has_next": bool}
    status: pending (default; queue order: the longest-waiting customer first) | decided |
    decided_elsewhere | failed | edited_version (the edited emails of approvals with edits; newest
    first). flag: customer_replied | recipient_not_contact | spam | attachments | unknown_links |
    edit_mismatch. overdue=1: only pending drafts past their mailbox's decision target.
GET /api/v1/drafts/<id>
    200 DraftDetail; 404 {"error"}
    With an intake token instead: the agent's view of a draft it submitted (callbacks/api.py).
POST /api/v1/drafts/<id>/decision
    body {"action": "approve"|"reject"|"request_changes", "reason": str, "snapshot_id": int|null,
          "confirm_changed": bool, "edit": {"subject"?: str, "markdown"?: str}|null}
    request_changes: reason is the feedback for the agent (required); the draft is rejected at
    MultiMail and the agent may submit a revision (intake's revision_of). edit (approve only):
    approve with edits (review/edits.py); the answer shows edited, final_email_id and diff. An
    edit that changes nothing, or of a draft with attachments, is a 400 that says so.
    snapshot_id: the latest_snapshot_id of the GET the decision was made on (the conversation shown);
    an approval without it, or with an older one, is refused (409 conversation_changed) unless
    confirm_changed is true, which the decision records.
    201 {"decision": Decision, "draft": DraftDetail}
    202 {"status": "awaiting_second_approval", "message", "first_approval": {approver: Person, approved_at},
        "draft": DraftDetail}: the mailbox needs two approvals (four-eyes, sla/four_eyes.py) and this was
        the first; nothing was sent. The second, by someone else, answers 201 (its decision names both).
    409 {"error", "conflict": "same_approver", "rule"}: the first approver approved again
    400 {"error", "fields"?: {name: message}}: not JSON, not an object, bad action, reject without
        reason, snapshot_id not a positive integer, confirm_changed not a boolean
    404 {"error"}: no such draft
    409 {"error", "conflict": "conversation_changed", "changes": [str], "snapshot_id", "latest_snapshot_id"}:
        the conversation changed after the snapshot sent (or none was sent)
    409 {"error", "conflict": "content_not_in"}: the draft's content is still being fetched
    409 {"error", "conflict": "already_decided", "decision": Decision}: someone decided first
    409 {"error", "conflict": "claimed", "claimed_by": Person, "expires_at"}: another reviewer's live claim
    409 {"error", "conflict": "not_pending", "status", "status_detail"}: decided elsewhere / failed
POST /api/v1/drafts   intake for agents (intake token): reviewqueue.routing.intake_api.intake_draft
Every endpoint: 401 {"error"} without a valid personal token (WWW-Authenticate: Bearer),
403 {"error"} when its owner lacks the reviewer role.

DraftSummary {id, email_id, mailbox_id, mailbox_address, status, from, to[], cc[], subject,
  received_at, waiting_since, conversation_id, conversation_link ("intake"|"tag"|"guess"|""),
  flags[], claim: {holder: Person, expires_at}|null, has_attachments}
DraftDetail = DraftSummary + {markdown, attachments[{name, content_type, size}], spam_verdict,
  spam_score, content_hash, snapshot_id, latest_snapshot_id, status_detail, email_status,
  unknown_link_domains[], delivered_at, bounced_at, decision: Decision|null, edited: bool,
  final_email_id: str|null, diff: Diff|null, revision: {number, total, revision_of: int|null}}
Decision {id, action, reason, reviewer: Person, decided_at, origin ("web"|"api"), multimail_status,
  snapshot_id, confirmed_changed, context_recheck_error, edited: bool, final_email_id: str|null, diff: Diff|null}
Diff {subject: [[op, text]], markdown: [[op, text]]}: op "=" kept, "-" deleted, "+" inserted (word level);
  final_email_id: the email MultiMail sends (the edited version when edited; null until it is sent)
Person {id, username, name, email}
Times are ISO 8601 in UTC.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from reviewqueue.accounts.decorators import api_role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse
from reviewqueue.review import selectors
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import (
    ConversationChangedSinceOpened,
    DraftAlreadyDecided,
    DraftClaimedByOther,
    DraftContentNotIn,
    DraftNotPending,
    InvalidDecision,
)
from reviewqueue.review.models import Decision, Draft
from reviewqueue.review.revisions import revision_total
from reviewqueue.sla.errors import AwaitingSecondApproval, SameApproverTwice
from reviewqueue.text import UNSTORABLE_MESSAGE, is_storable

MAX_BODY_BYTES = 64 * 1024


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _person(user) -> dict:
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name(), "email": user.email}


def draft_summary_json(draft: Draft) -> dict:
    holder = getattr(draft, "claim_holder", None)
    return {
        "id": draft.pk,
        "email_id": draft.email_id,
        "mailbox_id": draft.mailbox_id,
        "mailbox_address": draft.mailbox_address,
        "status": draft.status,
        "from": draft.from_address,
        "to": draft.to,
        "cc": draft.cc,
        "subject": draft.subject,
        "received_at": _when(draft.received_at),
        "waiting_since": _when(draft.waiting_since),
        "conversation_id": draft.conversation_id,
        "conversation_link": draft.conversation_link,
        "flags": draft.flags,
        "has_attachments": draft.flag_attachments,
        "claim": {"holder": _person(holder), "expires_at": _when(draft.claim_expires_at)} if holder else None,
    }


def decision_json(decision: Decision) -> dict:
    return {
        "id": decision.pk,
        "action": decision.action,
        "reason": decision.reason,
        "reviewer": {
            "id": decision.reviewer_id,
            "username": decision.reviewer_username,
            "name": decision.reviewer_name,
            "email": decision.reviewer_email,
        },
        "decided_at": _when(decision.decided_at),
        "origin": decision.origin,
        "multimail_status": decision.carried_out_status,
        "snapshot_id": decision.snapshot_id,
        "confirmed_changed": decision.confirmed_changed,
        "context_recheck_error": decision.context_recheck_error,
        **_edit_json(decision),
    }


def _edit_json(decision: Decision | None) -> dict:
    """edited, final_email_id and diff: what an approval with edits adds (review/edits.py)."""
    if decision is None:
        return {"edited": False, "final_email_id": None, "diff": None}
    # Only an approval carries an edit (decisions._check_action): no query for a rejection's.
    edit = decision.edit if decision.action == Decision.Action.APPROVE and decision.is_edited else None
    if edit is None:
        return {"edited": False, "final_email_id": decision.draft.email_id, "diff": None}
    return {"edited": True, "final_email_id": edit.edited_email_id or None, "diff": edit.diff}


def draft_detail_json(detail: selectors.DraftDetail) -> dict:
    draft = detail.draft
    return {
        **draft_summary_json(draft),
        "markdown": draft.markdown,
        "attachments": draft.attachments,
        "spam_verdict": draft.spam_verdict,
        "spam_score": draft.spam_score,
        "content_hash": draft.content_hash,
        "snapshot_id": draft.snapshot_id,
        "latest_snapshot_id": draft.latest_snapshot_id,
        "status_detail": draft.status_detail,
        "email_status": draft.email_status,
        "unknown_link_domains": draft.unknown_link_domains,
        "delivered_at": _when(draft.delivered_at),
        "bounced_at": _when(draft.bounced_at),
        "decision": decision_json(detail.decision) if detail.decision else None,
        **_edit_json(detail.decision),
        "revision": {
            "number": draft.revision_number,
            "total": revision_total(draft, detail.decision),
            "revision_of": draft.revision_of_id,
        },
    }


@csrf_exempt  # bearer tokens, never cookies: no cross-site request can carry one
def drafts_collection(request):
    """GET lists drafts (personal token); POST is intake for agents (intake token)."""
    if request.method == "POST":
        from reviewqueue.routing.intake_api import intake_draft

        return intake_draft(request)
    if request.method != "GET":
        return _error(405, "use GET to list drafts or POST to submit one")
    return drafts_list(request)


def _positive_int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer")
    return number


def _overdue(request) -> bool:
    value = request.GET.get("overdue", "")
    if value not in ("", "0", "1", "false", "true"):
        raise ValueError("overdue must be 1 or 0 (true or false)")
    return value in ("1", "true")


@api_role_required("reviewer")
def drafts_list(request):
    status = request.GET.get("status", Draft.Status.PENDING)
    if status not in Draft.Status.values:
        return _error(400, f"status must be one of {', '.join(Draft.Status.values)}")
    try:
        page = _positive_int(request.GET.get("page"), 1, "page")
        per_page = min(_positive_int(request.GET.get("per_page"), selectors.DEFAULT_PAGE_SIZE, "per_page"), 200)
        filters = selectors.QueueFilters(
            mailbox_id=request.GET.get("mailbox", ""), flag=request.GET.get("flag", ""), overdue=_overdue(request)
        )
    except ValueError as error:
        return _error(400, str(error))
    if status == Draft.Status.PENDING:
        result = selectors.queue_page(user=request.user, filters=filters, page=page, per_page=per_page)
    else:
        result = selectors.drafts_page(status=status, filters=filters, page=page, per_page=per_page)
    return JsonResponse(
        {
            "drafts": [draft_summary_json(d) for d in result.drafts],
            "page": result.page,
            "per_page": result.per_page,
            "total": result.total,
            "has_next": result.has_next,
        }
    )


@csrf_exempt
@require_GET
def draft_get(request, draft_id: int):
    """A reviewer's view (personal token); an agent's view of a draft it submitted (intake token)."""
    from reviewqueue.callbacks.api import agent_draft_get, is_agent_request

    if is_agent_request(request):
        return agent_draft_get(request, draft_id)
    return _draft_get_for_reviewer(request, draft_id)


@api_role_required("reviewer")
def _draft_get_for_reviewer(request, draft_id: int):
    detail = selectors.draft_detail(draft_id=draft_id)
    if detail is None:
        return _error(404, f"no draft {draft_id}")
    return JsonResponse(draft_detail_json(detail))


def _decision_body(request) -> tuple[dict | None, JsonResponse | None]:
    if len(request.body) > MAX_BODY_BYTES:
        return None, _error(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json_body_parse(request.body)
    except JsonBodyInvalid as error:
        return None, _error(400, f'{error}; send {{"action": "approve"|"reject"|"request_changes", "reason": "…"}}')
    if not isinstance(body, dict):
        return None, _error(400, "body must be a JSON object")
    fields = {}
    if body.get("action") not in Decision.Action.values:
        fields["action"] = "must be approve, reject or request_changes"
    if body.get("edit") is not None and not isinstance(body.get("edit"), dict):
        fields["edit"] = 'must be an object: {"subject"?: str, "markdown"?: str}'
    elif body.get("edit") is not None and body.get("action") != Decision.Action.APPROVE:
        fields["edit"] = "only an approval can carry an edit"
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        fields["reason"] = "must be a string"
    elif len(reason) > 2000:
        fields["reason"] = "at most 2000 characters"
    elif not is_storable(reason):
        fields["reason"] = UNSTORABLE_MESSAGE
    elif body.get("action") == Decision.Action.REJECT and not reason.strip():
        fields["reason"] = "a rejection needs a reason"
    elif body.get("action") == Decision.Action.REQUEST_CHANGES and not reason.strip():
        fields["reason"] = "requesting changes needs feedback for the agent"
    fields.update(_evidence_problems(body))
    if fields:
        return None, _error(400, "invalid decision", fields=fields)
    return body, None


def _evidence_problems(body: dict) -> dict:
    """What is wrong with the decision's snapshot_id and confirm_changed, by field."""
    problems = {}
    snapshot_id = body.get("snapshot_id")
    if snapshot_id is not None and (type(snapshot_id) is not int or snapshot_id < 1):
        problems["snapshot_id"] = "must be the latest_snapshot_id you were shown (a positive integer), or null"
    if not isinstance(body.get("confirm_changed", False), bool):
        problems["confirm_changed"] = "must be true or false"
    return problems


def _conversation_changed(error: ConversationChangedSinceOpened, draft_id: int, shown: int | None) -> JsonResponse:
    if shown is None:
        message = (
            f"approving needs the snapshot_id of the conversation you were shown: read GET /api/v1/drafts/{draft_id}"
            f" (latest_snapshot_id {error.snapshot_id}), then send it"
        )
    else:
        message = f"{error}; read the conversation again, then send its latest_snapshot_id {error.snapshot_id}"
    return _error(
        409,
        f"{message}, or confirm_changed: true to approve regardless",
        conflict="conversation_changed",
        changes=error.changes,
        snapshot_id=shown,
        latest_snapshot_id=error.snapshot_id,
    )


@csrf_exempt
@require_POST
@api_role_required("reviewer")
def draft_decision(request, draft_id: int):
    draft = Draft.objects.filter(pk=draft_id).first()
    if draft is None:
        return _error(404, f"no draft {draft_id}")
    body, problem = _decision_body(request)
    if problem is not None:
        return problem
    try:
        decision = draft_decide(
            draft=draft,
            reviewer=request.user,
            action=body["action"],
            reason=body.get("reason", ""),
            origin=Decision.Origin.API,
            shown_snapshot_id=body.get("snapshot_id"),
            confirm_changed=body.get("confirm_changed", False),
            request_origin=request_origin(request),
            edit=body.get("edit"),
        )
    except ConversationChangedSinceOpened as error:
        return _conversation_changed(error, draft_id, body.get("snapshot_id"))
    except DraftContentNotIn as error:
        return _error(409, str(error), conflict="content_not_in")
    except DraftAlreadyDecided as error:
        return _error(409, str(error), conflict="already_decided", decision=decision_json(error.decision))
    except DraftClaimedByOther as error:
        claim = error.claim
        return _error(
            409, str(error), conflict="claimed", claimed_by=_person(claim.holder), expires_at=_when(claim.expires_at)
        )
    except DraftNotPending as error:
        return _error(
            409, str(error), conflict="not_pending", status=error.draft.status, status_detail=error.draft.status_detail
        )
    except AwaitingSecondApproval as awaiting:  # four-eyes: the first of two approvals is recorded
        return _awaiting_second_approval(awaiting, draft_id)
    except SameApproverTwice as error:
        return _error(409, str(error), conflict="same_approver", rule=error.rule)
    except InvalidDecision as error:
        return _error(400, str(error))
    detail = selectors.draft_detail(draft_id=draft_id)
    return JsonResponse({"decision": decision_json(decision), "draft": draft_detail_json(detail)}, status=201)


def _awaiting_second_approval(awaiting: AwaitingSecondApproval, draft_id: int) -> JsonResponse:
    first = awaiting.first_approval
    detail = selectors.draft_detail(draft_id=draft_id)
    return JsonResponse(
        {
            "status": "awaiting_second_approval",
            "message": str(awaiting),
            "first_approval": {
                "approver": {
                    "id": first.approver_id,
                    "username": first.approver_username,
                    "name": first.approver_name,
                    "email": first.approver_email,
                },
                "approved_at": _when(first.approved_at),
            },
            "draft": draft_detail_json(detail),
        },
        status=202,
    )


@csrf_exempt
def not_found(request, rest: str = ""):
    """Any other path under /api/v1/ (e.g. /drafts/-1, /drafts/abc): a JSON 404, never the HTML page."""
    return _error(404, f"no such endpoint or resource: /api/v1/{rest}")
