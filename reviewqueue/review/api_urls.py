"""/api/v1/: the review API (personal tokens) and intake for agents (intake tokens)."""

from django.urls import path  # noqa: F401  (routes are added with their views)

urlpatterns: list = []
