"""The queue page's bulk actions: reject with one reason, claim, release, approve after a confirmation.

POST /queue/bulk with the selected rows' `ids`, an `action`, and for a rejection the reason fields
of the draft page (`reason_preset`, `reason_text`). Approving first shows a page listing the drafts
it would approve (those with no flags) and the ones it leaves out; that page posts again with
`confirm` and each draft's `snapshot_<id>` (the conversation as it stood when the list was shown).
Each draft is acted on by review/bulk.py on its own; the queue then says what was done and what not.
"""

from django import forms
from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.review.bulk import (
    MAX_BULK_IDS,
    BulkOutcome,
    drafts_bulk_claim,
    drafts_bulk_decide,
    drafts_bulk_release,
)
from reviewqueue.review.forms import FormErrorsMixin, QueueFilterForm
from reviewqueue.review.models import Draft
from reviewqueue.review.presentation import draft_flag_badges
from reviewqueue.review.reasons import PRESET_REJECT_REASONS

DONE_VERBS = {"reject": "Rejected", "approve": "Approved", "claim": "Claimed", "release": "Released"}
REFUSALS_SHOWN = 10  # the queue lists this many refused drafts by name, then counts the rest


class DraftIdsField(forms.Field):
    """The ticked rows' `ids`: any number of positive integers (the service says which drafts exist)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        if not all(str(v).isdigit() and 0 < int(v) < 2**63 for v in values):
            raise forms.ValidationError("Draft ids are positive whole numbers.")
        return [int(v) for v in values]


class BulkActionForm(FormErrorsMixin, forms.Form):
    ids = DraftIdsField(required=False)
    action = forms.ChoiceField(choices=[(action, verb) for action, verb in DONE_VERBS.items()])
    reason_preset = forms.ChoiceField(
        required=False, choices=[("", "Other reason"), *((r, r) for r in PRESET_REJECT_REASONS)]
    )
    reason_text = forms.CharField(required=False, max_length=2000, strip=True)
    confirm = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000)  # the queue's filters, to return to

    def clean(self):
        data = super().clean()
        ids = list(dict.fromkeys(data.get("ids") or []))
        if not ids:
            raise forms.ValidationError("Select drafts first: tick their boxes, or press x on a row.")
        if len(ids) > MAX_BULK_IDS:
            raise forms.ValidationError(f"At most {MAX_BULK_IDS} drafts at once; {len(ids)} were selected.")
        if data.get("action") == "reject" and not data.get("reason_preset") and not data.get("reason_text"):
            raise forms.ValidationError("A rejection needs a reason: choose one or write one.")
        data["ids"] = ids
        return data

    def reason(self) -> str:
        preset, text = self.cleaned_data.get("reason_preset", ""), self.cleaned_data.get("reason_text", "")
        return f"{preset}: {text}" if preset and text else preset or text

    def shown_snapshot_ids(self) -> dict[int, int | None]:
        """snapshot_<id> fields of the confirmation page: the conversation each draft was listed with."""
        shown = {}
        for draft_id in self.cleaned_data["ids"]:
            value = self.data.get(f"snapshot_{draft_id}", "")
            shown[draft_id] = int(value) if value.isdigit() else None
        return shown


def queue_url(query: str) -> str:
    """The queue with the filters it was showing (only the filters a queue link may carry)."""
    filters = QueueFilterForm(QueryDict(query))
    query = filters.query_string() if filters.is_valid() else ""
    return reverse("review:queue") + (f"?{query}" if query else "")


@require_POST
@role_required("reviewer")
def queue_bulk(request):
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.error_text())
        return redirect(queue_url(request.POST.get("query", "")))
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    if action == "approve" and not form.cleaned_data["confirm"]:
        return _approval_confirmation(request, form)
    origin = request_origin(request)
    if action in ("reject", "approve"):
        outcomes = drafts_bulk_decide(
            draft_ids=ids,
            reviewer=request.user,
            action=action,
            reason=form.reason() if action == "reject" else "",
            origin="web",
            shown_snapshot_ids=form.shown_snapshot_ids(),
            request_origin=origin,
        )
    elif action == "claim":
        outcomes = drafts_bulk_claim(draft_ids=ids, reviewer=request.user, request_origin=origin)
    else:
        outcomes = drafts_bulk_release(draft_ids=ids, reviewer=request.user, request_origin=origin)
    _tell(request, action, outcomes)
    return redirect(queue_url(form.cleaned_data["query"]))


def _approval_confirmation(request, form: BulkActionForm):
    """The page that lists what a bulk approval would approve; flagged drafts are left out, by name."""
    found = Draft.objects.in_bulk(form.cleaned_data["ids"])
    drafts = [found[draft_id] for draft_id in form.cleaned_data["ids"] if draft_id in found]
    pending = [draft for draft in drafts if draft.is_pending]
    context = {
        "approvable": [draft for draft in pending if not draft.flags],
        "flagged": [(draft, draft_flag_badges(draft)) for draft in pending if draft.flags],
        "gone": [draft for draft in drafts if not draft.is_pending],
        "query": form.cleaned_data["query"],
        "queue_url": queue_url(form.cleaned_data["query"]),
    }
    return render(request, "review/bulk_approve.html", context)


def _label(outcome: BulkOutcome) -> str:
    if outcome.draft is None:
        return f"draft {outcome.draft_id}"
    return f"«{outcome.draft.subject or outcome.draft.email_id}»"


def _tell(request, action: str, outcomes: list[BulkOutcome]) -> None:
    done = [outcome for outcome in outcomes if outcome.done]
    refused = [outcome for outcome in outcomes if not outcome.done]
    if done:
        messages.success(request, f"{DONE_VERBS[action]} {len(done)} draft{'s' if len(done) != 1 else ''}.")
    for outcome in refused[:REFUSALS_SHOWN]:
        messages.warning(request, f"Not {DONE_VERBS[action].lower()}: {_label(outcome)} — {outcome.message}.")
    if len(refused) > REFUSALS_SHOWN:
        messages.warning(request, f"…and {len(refused) - REFUSALS_SHOWN} more not {DONE_VERBS[action].lower()}.")
