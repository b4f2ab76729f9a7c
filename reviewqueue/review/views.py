"""The review pages: the queue and one draft beside its conversation.

Plain POST forms that work without JavaScript; htmx enhances them (boosted forms, a polled queue
table). Every write goes through one service in review/claims.py or review/decisions.py; every
read through review/selectors.py.
"""

import hashlib

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.review import selectors
from reviewqueue.review.claims import draft_claim, draft_release
from reviewqueue.review.context import QUEUE_HEAD, context_refresh_from, context_refresh_of
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.draft_reads import draft_with_decision_and_claim
from reviewqueue.review.errors import (
    ConversationChangedSinceOpened,
    DraftAlreadyDecided,
    DraftClaimedByOther,
    DraftContentNotIn,
    DraftNotPending,
    ReviewError,
)
from reviewqueue.review.forms import ClaimForm, DecisionForm, QueueFilterForm
from reviewqueue.review.models import Draft
from reviewqueue.review.presentation import conversation_view, draft_flag_badges, queue_rows, queue_rows_html
from reviewqueue.review.reasons import PRESET_REJECT_REASONS
from reviewqueue.review.rendering import render_markdown
from reviewqueue.sla.errors import AwaitingSecondApproval, SameApproverTwice
from reviewqueue.sla.selectors import queue_rows_marked

QUEUE_POLL_SECONDS = 5
# draft_decide's refusals that mean someone or something came first: a 409 naming them.
TAKEN_BEFORE = (DraftAlreadyDecided, DraftNotPending, DraftClaimedByOther, DraftContentNotIn, SameApproverTwice)
QUEUE_TABLE_ID = "queue-table"  # the id templates/review/queue.html gives the table its htmx requests target


# --- the queue -----------------------------------------------------------------------------------


@require_GET
@role_required("reviewer")
def queue(request):
    form = QueueFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "review/queue.html", {"form": form, "page": None}, status=400)
    filters, number = form.filters(), form.cleaned_data["page"] or 1
    # Only the table's own requests (poll, filters, pager: hx-target="#queue-table") get the partial; a
    # boosted navigation here (e.g. the redirect after the last decision on a draft page) gets the whole page.
    partial = request.htmx and request.htmx.target == QUEUE_TABLE_ID and not request.htmx.history_restore_request
    polled_version = request.GET.get("v")
    if partial and polled_version:
        state = selectors.queue_state(user=request.user, filters=filters, page=number)
        if _queue_version(state) == polled_version:
            return HttpResponse(status=204)  # polled and nothing changed: htmx keeps the table as it is
    page = selectors.queue_page(user=request.user, filters=filters, page=number)
    context_refresh_of(draft_ids=[draft.pk for draft in page.drafts[:QUEUE_HEAD]])  # `j`, Enter opens these
    version = _queue_version(selectors.QueueState.of(page))
    now = timezone.now()
    rows = queue_rows(page.drafts, viewer_id=request.user.pk, draft_url_prefix=_draft_url_prefix(), now=now)
    rows = queue_rows_marked(rows, page.drafts, now)  # time to target, "needs a second approval" (sla)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "rows_html": queue_rows_html(rows),
        "version": version,
        "query": form.query_string(),
        "poll_seconds": QUEUE_POLL_SECONDS,
        "mailboxes": form.mailbox_choices,
    }
    template = "review/queue.html#queue_table" if partial else "review/queue.html"
    return render(request, template, context)


def _draft_url_prefix() -> str:
    """ "/queue/drafts/": reversed once per page rather than once per row."""
    return reverse("review:draft", args=[0]).removesuffix("0/")


def _queue_version(state: selectors.QueueState) -> str:
    """A short fingerprint of what the table shows; polling answers 204 while it stays the same.

    The minute is part of it so the ages shown move on even when nothing else does.
    """
    rows = [(pk, updated.isoformat(), holder_id, str(expires)) for pk, updated, holder_id, expires in state.rows]
    fingerprint = repr((rows, state.total, state.page, timezone.now().strftime("%Y%m%d%H%M")))
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


# --- one draft -----------------------------------------------------------------------------------


@require_GET
@role_required("reviewer")
def draft(request, draft_id: int):
    return _draft_page(request, draft_id)


def _draft_page(request, draft_id: int, *, status: int = 200, error: str = "", changed=None, form=None):
    detail = selectors.draft_detail(draft_id=draft_id)
    if detail is None:
        raise Http404("No such draft")
    draft = detail.draft
    next_id, previous_id = selectors.queue_neighbours(draft=draft)
    if draft.is_pending:  # its conversation and the next drafts', read again by a worker before the approval
        context_refresh_from(draft=draft)
    context = {
        "detail": detail,
        "draft": draft,
        "body_html": render_markdown(draft.markdown),
        "badges": draft_flag_badges(draft),
        "conversation": conversation_view(detail.conversation, written_at=draft.received_at or draft.created_at),
        "next_id": next_id,
        "previous_id": previous_id,
        "claim_is_mine": draft.claim_holder is not None and draft.claim_holder.pk == request.user.pk,
        "preset_reasons": PRESET_REJECT_REASONS,
        "error": error,
        "changed": changed,
        "form": form,
    }
    # htmx leaves 4xx responses unswapped; a boosted form must still show the refusal.
    return render(request, "review/draft.html", context, status=200 if request.htmx else status)


@require_POST
@role_required("reviewer")
def draft_decision(request, draft_id: int):
    draft = _draft_or_404(draft_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _draft_page(request, draft_id, status=400, error=form.error_text(), form=form)
    try:
        decision = draft_decide(
            draft=draft,
            reviewer=request.user,
            action=form.cleaned_data["action"],
            reason=form.reason(),
            origin="web",
            shown_snapshot_id=form.cleaned_data["shown_snapshot_id"],
            confirm_changed=form.cleaned_data["confirm_changed"],
            request_origin=request_origin(request),
        )
    except ConversationChangedSinceOpened as changed:
        return _draft_page(request, draft_id, status=409, changed=changed, form=form)
    except ReviewError as refused:
        return _decision_refused(request, draft, refused, form=form)
    verb = "Approved" if decision.action == "approve" else "Rejected"
    messages.success(request, f"{verb} «{draft.subject or draft.email_id}».")
    return _redirect_to_next(request, draft)


@require_POST
@role_required("reviewer")
def draft_claim_view(request, draft_id: int):
    draft = _draft_or_404(draft_id)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        return _draft_page(request, draft_id, status=400, error=form.error_text())
    try:
        draft_claim(
            draft=draft,
            reviewer=request.user,
            take_over=form.cleaned_data["take_over"],
            request_origin=request_origin(request),
        )
    except (DraftClaimedByOther, DraftNotPending) as refused:
        return _draft_page(request, draft_id, status=409, error=_sentence(refused))
    if form.cleaned_data["take_over"]:
        messages.warning(request, "You took this draft over; the audit log records it.")
    return redirect("review:draft", draft_id=draft.pk)


@require_POST
@role_required("reviewer")
def draft_release_view(request, draft_id: int):
    draft = _draft_or_404(draft_id)
    if not draft_release(draft=draft, reviewer=request.user, request_origin=request_origin(request)):
        messages.info(request, "You held no claim on this draft.")
    return redirect("review:draft", draft_id=draft.pk)


def _draft_or_404(draft_id: int) -> Draft:
    # The draft page's written-out read (review/draft_reads.py): an ORM query compiled on every decision POST
    # cost more CPU than its two joins cost the database.
    draft = draft_with_decision_and_claim(draft_id)
    if draft is None:
        raise Http404("No such draft")
    return draft


def _decision_refused(request, draft: Draft, refused: ReviewError, *, form=None):
    """The page's answer when draft_decide did not decide (the draft page's and the edit forms'): held
    for a second approval, someone or something came first (409), or an invalid decision (400)."""
    if isinstance(refused, AwaitingSecondApproval):  # four-eyes: recorded, the draft stays in the queue
        messages.success(request, _sentence(refused))
        return _redirect_to_next(request, draft)
    if isinstance(refused, TAKEN_BEFORE):
        return _draft_page(request, draft.pk, status=409, error=_sentence(refused))
    # InvalidDecision: what the form let through and the service refuses (e.g. an edit changing nothing).
    return _draft_page(request, draft.pk, status=400, error=_sentence(refused), form=form)


def _redirect_to_next(request, draft: Draft):
    # The draft page's one written-out statement (its j link): the ORM's queue_neighbour_id costs more to
    # compile than to run, and the queue's order has no filters here.
    next_id, _ = selectors.queue_neighbours(draft=draft)
    if next_id is None:
        return redirect(reverse("review:queue"))
    return redirect("review:draft", draft_id=next_id)


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
