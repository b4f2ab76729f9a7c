"""/api/v1/: the review API (personal tokens) and intake for agents (intake tokens)."""

from django.urls import path, re_path

from reviewqueue.review import api, bulk_api
from reviewqueue.routing.openapi import openapi_view

urlpatterns: list = [
    # GET lists drafts (personal token); POST is intake (intake token), dispatched to routing.intake_api.intake_draft.
    path("drafts", api.drafts_collection, name="api-drafts"),
    path("drafts/bulk-decision", bulk_api.drafts_bulk_decision, name="api-drafts-bulk-decision"),
    path("drafts/<int:draft_id>", api.draft_get, name="api-draft"),
    path("drafts/<int:draft_id>/decision", api.draft_decision, name="api-draft-decision"),
    path("openapi.json", openapi_view, name="api-openapi"),
    # Last: whatever matched nothing above still answers in JSON (API clients parse every answer).
    re_path(r"^(?P<rest>[\s\S]*)$", api.not_found),  # [\s\S]: a line break in the path too
]
