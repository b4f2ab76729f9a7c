"""Every admin page is for admins only: anonymous → login, every other role → 403, GET and POST alike."""

import pytest
from django.urls import reverse

from tests.conftest import logged_in_client

ADMIN_URLS = [
    ("routing:home", {}),
    ("routing:mailboxes", {}),
    ("routing:mailboxes_sync", {}),
    ("routing:mailbox_new", {}),
    ("routing:mailbox", {"pk": 1}),
    ("routing:mailbox_rename", {"pk": 1}),
    ("routing:mailbox_oversight", {"pk": 1}),
    ("routing:mailbox_webhook", {"pk": 1}),
    ("routing:rules", {}),
    ("routing:version", {"version": 1}),
    ("routing:people", {}),
    ("routing:token_policy", {}),
    ("routing:person", {"pk": 1}),
    ("routing:person_role", {"pk": 1}),
    ("routing:person_active", {"pk": 1}),
    ("routing:person_token_revoke", {"pk": 1, "token_pk": 1}),
    ("routing:intake_tokens", {}),
    ("routing:intake_token_revoke", {"pk": 1}),
    ("routing:health", {}),
    ("routing:outbox_retry", {"pk": 1}),
]
URL_IDS = [name.split(":")[1] for name, _ in ADMIN_URLS]


def test_the_list_covers_every_admin_url():
    from reviewqueue.routing.urls import urlpatterns

    assert {f"routing:{p.name}" for p in urlpatterns} == {name for name, _ in ADMIN_URLS}


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_URLS, ids=URL_IDS)
def test_non_admins_get_403_on_every_admin_url(reviewer, auditor, outsider, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    for persona in (reviewer, auditor, outsider):
        client = logged_in_client(persona)
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"name": "x", "role": "admin", "grant": "1"})
            assert response.status_code == 403, f"{persona} {method} {url}"


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_URLS, ids=URL_IDS)
def test_anonymous_visitors_are_sent_to_log_in(client, db, name, kwargs):
    for method in ("get", "post"):
        response = getattr(client, method)(reverse(name, kwargs=kwargs))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "name",
    [
        "routing:home",
        "routing:mailboxes",
        "routing:rules",
        "routing:people",
        "routing:intake_tokens",
        "routing:health",
        "routing:mailbox_new",
    ],
)
def test_admins_open_every_page(admin_client_, multimail, name):
    assert admin_client_.get(reverse(name)).status_code == 200
