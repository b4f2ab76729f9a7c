from django.urls import path

from reviewqueue.review import bulk_views, edit_views, views

app_name = "review"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk", bulk_views.queue_bulk, name="queue_bulk"),
    path("drafts/<int:draft_id>/", views.draft, name="draft"),
    path("drafts/<int:draft_id>/decision", views.draft_decision, name="draft_decision"),
    path("drafts/<int:draft_id>/claim", views.draft_claim_view, name="draft_claim"),
    path("drafts/<int:draft_id>/edit", edit_views.draft_approve_edited, name="draft_approve_edited"),
    path("drafts/<int:draft_id>/edit/preview", edit_views.draft_edit_preview, name="draft_edit_preview"),
    path("drafts/<int:draft_id>/request-changes", edit_views.draft_request_changes, name="draft_request_changes"),
    path("drafts/<int:draft_id>/release", views.draft_release_view, name="draft_release"),
]
