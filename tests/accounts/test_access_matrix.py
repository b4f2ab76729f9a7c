"""Each role sees only its pages: every page is denied unless a role allows it."""

import pytest
from django.urls import reverse

from tests.conftest import logged_in_client

PAGES = {"review:queue": "reviewer", "audit:events": "auditor", "routing:home": "admin"}
PERSONAS = ["reviewer", "auditor", "admin_user", "outsider"]
ROLE_OF = {"reviewer": "reviewer", "auditor": "auditor", "admin_user": "admin", "outsider": None}


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, page, db):
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", PAGES)
def test_each_role_opens_only_its_own_pages(request, persona, page):
    client = logged_in_client(request.getfixturevalue(persona))
    response = client.get(reverse(page))
    expected = 200 if PAGES[page] == ROLE_OF[persona] else 403
    assert response.status_code == expected


def test_a_person_with_several_roles_opens_each_of_their_pages(django_user_model, db):
    from tests.conftest import make_user

    client = logged_in_client(make_user(django_user_model, "multi", "reviewer", "auditor"))
    assert client.get(reverse("review:queue")).status_code == 200
    assert client.get(reverse("audit:events")).status_code == 200
    assert client.get(reverse("routing:home")).status_code == 403


def test_home_sends_each_role_to_its_start_page(reviewer_client, auditor_client, admin_client_):
    assert reviewer_client.get("/")["Location"] == reverse("review:queue")
    assert auditor_client.get("/")["Location"] == reverse("audit:events")
    assert admin_client_.get("/")["Location"] == reverse("routing:home")


def test_a_person_without_a_role_is_told_to_ask_an_admin(outsider):
    response = logged_in_client(outsider).get("/")
    assert response.status_code == 403
    assert b"No role yet" in response.content


def test_navigation_shows_only_the_roles_links(reviewer_client):
    body = reviewer_client.get(reverse("review:queue")).content.decode()
    assert reverse("review:queue") in body
    assert reverse("audit:events") not in body
    assert reverse("routing:home") not in body


def test_a_deactivated_person_loses_access(reviewer):
    client = logged_in_client(reviewer)
    reviewer.is_active = False
    reviewer.save()
    assert client.get(reverse("review:queue")).status_code == 302
