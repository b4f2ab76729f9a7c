"""The draft page's edit panel, a revision's place in its chain, and an edited decision's redline.

Inclusion tags, so the draft page's view (review/views.py) needs no knowledge of edits or revisions.
"""

from django import template

from reviewqueue.review.redline import edit_preview, edit_summary, redline_html
from reviewqueue.review.rendering import render_markdown
from reviewqueue.review.revisions import revision_view

register = template.Library()


@register.filter
def redline(parts) -> str:
    """A diff's [[op, text], ...] as <del>[-…-]</del> / <ins>{+…+}</ins> (parts of any other shape are left out)."""
    if not isinstance(parts, list):
        return redline_html([])
    return redline_html(
        [p for p in parts if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)]
    )


@register.inclusion_tag("review/_edit_panel.html", takes_context=True)
def edit_panel(context, draft, shown_snapshot_id):
    """The edit form, filled with what the reviewer typed when a refused edit brought them back here."""
    request = context.get("request")
    posted = request.POST if request is not None and request.method == "POST" else {}
    subject = posted.get("edit_subject") or draft.subject
    markdown = (posted.get("edit_markdown") or draft.markdown).replace("\r\n", "\n")
    # The preview and redline are in the page from the start (no request on every draft page's load): of the
    # text as it stands, the page's own rendering of the body when that is unchanged.
    body_html = context.get("body_html")
    if body_html is None or markdown != draft.markdown:
        body_html = render_markdown(markdown)
    return {
        "draft": draft,
        "shown_snapshot_id": shown_snapshot_id,
        "csrf_token": context.get("csrf_token"),
        **edit_preview(old_subject=draft.subject, old_markdown=draft.markdown, subject=subject, markdown=markdown),
        "preview_html": body_html,
        "open": "edit_markdown" in posted,
    }


@register.inclusion_tag("review/_revision_panel.html")
def revision_panel(draft):
    return {"revision": revision_view(draft)}


@register.inclusion_tag("review/_decision_edit.html")
def decision_edit(decision):
    edit = decision.edit if decision is not None and decision.is_edited else None
    return {"edit": edit, "summary": edit_summary(edit.diff) if edit else ""}
