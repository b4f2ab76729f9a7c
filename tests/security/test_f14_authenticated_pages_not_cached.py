"""Finding 14: pages with customer data and one-time token displays could be cached.

Every answer to a signed-in person, and to an API token, now carries Cache-Control: no-store, so
no browser, proxy or back-button cache keeps a draft, a conversation or a token shown once.
"""

import pytest
from django.urls import reverse

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor

PAGES = {
    "reviewer": ["review:queue"],
    "auditor": ["audit:events", "audit:summaries", "audit:verification", "audit:reconciliation"],
    "admin": [
        "routing:home",
        "routing:mailboxes",
        "routing:rules",
        "routing:people",
        "routing:intake_tokens",
        "routing:health",
    ],
}


def assert_not_stored(response) -> None:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert "no-store" in directives, (response.request["PATH_INFO"], response.get("Cache-Control"))


@pytest.mark.parametrize(("role", "name"), [(role, name) for role, names in PAGES.items() for name in names])
def test_every_page_a_person_sees_is_marked_no_store(client, reviewer, auditor, admin_user, role, name):
    client.force_login({"reviewer": reviewer, "auditor": auditor, "admin": admin_user}[role])
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_not_stored(response)


def test_an_htmx_partial_is_marked_no_store_too(client, reviewer):
    client.force_login(reviewer)
    response = client.get(reverse("review:queue"), headers={"HX-Request": "true", "X-Background-Poll": "1"})
    assert response.status_code in (200, 204)
    assert_not_stored(response)


def test_a_redirect_after_a_signed_in_post_is_marked_no_store(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("routing:intake_tokens"), {"name": "Fin connector"})
    assert_not_stored(response)


def test_api_answers_to_a_token_are_marked_no_store(client, reviewer):
    _, raw = api_token_issue(user=reviewer, name="cli", actor=Actor.system("test"))
    response = client.get("/api/v1/drafts", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert_not_stored(response)


def test_anonymous_static_files_stay_cacheable(client, db):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
