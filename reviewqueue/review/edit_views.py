"""The draft page's edit-then-approve and request-changes forms, and the edit's live preview.

Plain POST forms that work without JavaScript (the preview then answers a page of its own); htmx
swaps the preview in as the reviewer types. Each decision goes through draft_decide, as on the
draft page (review/views.py), and meets the same guards: claims and the stale-context check.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import render
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import (
    ConversationChangedSinceOpened,
    ReviewError,
)
from reviewqueue.review.forms import FormErrorsMixin
from reviewqueue.review.redline import edit_preview
from reviewqueue.review.rendering import render_markdown
from reviewqueue.review.views import _decision_refused, _draft_or_404, _draft_page, _redirect_to_next, _sentence


class EditForm(FormErrorsMixin, forms.Form):
    edit_subject = forms.CharField(required=False, max_length=998, strip=False)
    edit_markdown = forms.CharField(required=False, max_length=262144, strip=False)
    shown_snapshot_id = forms.IntegerField(required=False, min_value=1)

    def edit(self) -> dict:
        """The reviewer's edit as draft_decide takes it (a field left empty keeps the original's)."""
        data = self.cleaned_data
        edit = {"subject": data["edit_subject"], "markdown": data["edit_markdown"].replace("\r\n", "\n")}
        return {name: value for name, value in edit.items() if value.strip()}


class RequestChangesForm(FormErrorsMixin, forms.Form):
    feedback = forms.CharField(max_length=2000, strip=True, error_messages={"required": "Say what should change."})
    shown_snapshot_id = forms.IntegerField(required=False, min_value=1)


@require_POST
@role_required("reviewer")
def draft_edit_preview(request, draft_id: int):
    """The edited draft as the page would show it (the same sanitizer), and the redline against the original."""
    draft = _draft_or_404(draft_id)
    form = EditForm(request.POST)
    if not form.is_valid():
        return render(request, "review/_edit_preview.html", {"error": form.error_text()})
    edit = form.edit()
    subject, markdown = edit.get("subject", draft.subject), edit.get("markdown", draft.markdown)
    context = {
        "draft": draft,
        **edit_preview(old_subject=draft.subject, old_markdown=draft.markdown, subject=subject, markdown=markdown),
        "preview_html": render_markdown(markdown),
        "shown_snapshot_id": form.cleaned_data["shown_snapshot_id"],
    }
    template = "review/_edit_preview.html" if request.htmx else "review/edit_preview_page.html"
    return render(request, template, context)


@require_POST
@role_required("reviewer")
def draft_approve_edited(request, draft_id: int):
    draft = _draft_or_404(draft_id)
    form = EditForm(request.POST)
    if not form.is_valid():
        return _draft_page(request, draft_id, status=400, error=form.error_text())
    return _decide(request, draft, action="approve", reason="", form=form, edit=form.edit())


@require_POST
@role_required("reviewer")
def draft_request_changes(request, draft_id: int):
    draft = _draft_or_404(draft_id)
    form = RequestChangesForm(request.POST)
    if not form.is_valid():
        return _draft_page(request, draft_id, status=400, error=form.error_text())
    return _decide(request, draft, action="request_changes", reason=form.cleaned_data["feedback"], form=form)


def _decide(request, draft, *, action: str, reason: str, form, edit=None):
    try:
        decision = draft_decide(
            draft=draft,
            reviewer=request.user,
            action=action,
            reason=reason,
            origin="web",
            shown_snapshot_id=form.cleaned_data["shown_snapshot_id"],
            request_origin=request_origin(request),
            edit=edit,
        )
    except ConversationChangedSinceOpened as changed:
        # Not the page's "approve it as written" prompt: that would drop the edit. The page now
        # shows the latest conversation; the edit form keeps what was typed (review_edits tags).
        error = f"{_sentence(changed)} Read it, then confirm your edit again."
        return _draft_page(request, draft.pk, status=409, error=error)
    except ReviewError as refused:
        return _decision_refused(request, draft, refused)
    messages.success(request, f"{decision.verb.capitalize()}: «{draft.subject or draft.email_id}».")
    return _redirect_to_next(request, draft)
