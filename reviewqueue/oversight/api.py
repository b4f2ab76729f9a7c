"""GET /api/v1/oversight/readiness: the evidence page's figures and verdicts as JSON (auditor or admin tokens)."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from reviewqueue.accounts.decorators import api_role_required
from reviewqueue.oversight.forms import EvidenceFilterForm
from reviewqueue.oversight.readiness import policy_current, readiness_verdicts
from reviewqueue.oversight.selectors import Reader, evidence, known_choices
from reviewqueue.oversight.spot_checks import spot_summaries


@require_GET
@api_role_required("auditor", "admin")
def readiness(request):
    form = EvidenceFilterForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"error": "invalid filters", "fields": {k: list(v) for k, v in form.errors.items()}}, status=400
        )
    selection = form.selection()
    reader = Reader()
    found = evidence(selection, reader)
    policy = policy_current()
    mailboxes = [selection.mailbox_id] if selection.mailbox_id else known_choices(found)[0]
    return JsonResponse(
        {
            "range": {"since": selection.since.isoformat(), "until": selection.until.isoformat()},
            "mailbox": selection.mailbox_id or None,
            "kind": selection.kind or None,
            "total": found.total.as_dict(),
            "by_mailbox_kind": [
                {"mailbox_id": mailbox, "kind": kind, **figures.as_dict()} for mailbox, kind, figures in found.by_cell
            ],
            "weeks": [{"week_start": week.isoformat(), **figures.as_dict()} for week, figures in found.weeks],
            "spot_checks": [
                s.as_dict() for s in spot_summaries([selection.mailbox_id] if selection.mailbox_id else None)
            ],
            "readiness": [verdict.as_dict() for verdict in readiness_verdicts(mailboxes, policy=policy, reader=reader)],
        }
    )
