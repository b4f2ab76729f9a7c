"""Auditors can change nothing: every write endpoint but "start a verification" refuses them."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

PAGE_PREFIXES = ("queue/", "manage/", "audit/")
# Starting a verification, and checking an email ("did we send this?": it changes nothing, it is audited).
ALLOWED_WRITES = {"audit/verification/", "audit/oversight/sent-check/"}


def _routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and isinstance(entry.pattern, RoutePattern):
            yield route  # regex catch-alls (the API's JSON 404) are no endpoint of their own


def _concrete(route: str) -> str:
    # Any value will do for path parameters: access is checked before the object is looked up.
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<[^>]+>", "x1", route)
    return "/" + route.lstrip("^").rstrip("$")


def test_every_page_write_refuses_an_auditor(auditor_client):
    routes = [r for r in _routes() if r.startswith(PAGE_PREFIXES) and r not in ALLOWED_WRITES]
    assert any(r.startswith("audit/") for r in routes)
    refused = {route: auditor_client.post(_concrete(route)).status_code for route in routes}
    assert {route: status for route, status in refused.items() if status not in (403, 405)} == {}
    # Pages that exist for auditors do not accept writes at all; the others refuse them outright.
    assert all(status == 405 for route, status in refused.items() if route.startswith("audit/"))


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_audit_page_accepts_other_write_methods(auditor_client, method):
    for route in [r for r in _routes() if r.startswith("audit/")]:
        assert getattr(auditor_client, method)(_concrete(route)).status_code == 405, route


def test_the_review_api_refuses_an_auditor_session(auditor_client):
    for route in [r for r in _routes() if r.startswith("api/v1/")]:
        assert auditor_client.post(_concrete(route), content_type="application/json", data={}).status_code in (
            401,
            403,
            405,
        ), route
