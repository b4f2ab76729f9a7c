"""Admins see and end people's sessions; deactivation ends sessions and tokens at once; OIDC_ONLY keeps
password sign-in for the break-glass admin only, each use audited and shown on the health page."""

import pytest
from django.test import Client
from django.urls import reverse

from reviewqueue.accounts.models import ApiToken, UserSession
from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from tests.accounts.test_two_factor import enrol
from tests.conftest import PASSWORD, make_user
from tests.two_factor import next_code

pytestmark = pytest.mark.usefixtures("clean_throttle")


def password_client(username: str) -> Client:
    client = Client(headers={"User-Agent": f"{username}'s browser"})
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def test_an_admin_sees_a_persons_sessions_and_ends_one(reviewer, admin_client_):
    laptop, phone = password_client("rita"), password_client("rita")
    page = admin_client_.get(reverse("person_sessions", args=[reviewer.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("rita&#x27;s browser") == 2
    assert UserSession.objects.filter(user=reviewer).count() == 2

    phone_record = UserSession.objects.get(session_key=phone.session.session_key)
    response = admin_client_.post(reverse("person_session_end", args=[reviewer.pk, phone_record.pk]))
    assert response.status_code == 302

    assert phone.get(reverse("review:queue")).status_code == 302  # signed out at once
    assert laptop.get(reverse("review:queue")).status_code == 200
    ended = AuditEvent.objects.get(action="session.ended")
    assert ended.actor_label == "ada" and ended.target_id == str(reviewer.pk)


def test_signing_out_removes_the_session_from_the_list(reviewer, admin_client_):
    client = password_client("rita")
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user=reviewer).exists()


def test_deactivating_a_person_ends_their_sessions_and_tokens_at_once(reviewer, admin_client_):
    browser = password_client("rita")
    _, raw = api_token_issue(user=reviewer, name="script", actor=Actor.system("test"))
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/drafts").status_code == 200

    response = admin_client_.post(reverse("routing:person_active", args=[reviewer.pk]), {"active": "0"})
    assert response.status_code == 302

    assert browser.get(reverse("review:queue")).status_code == 302
    assert api.get("/api/v1/drafts").status_code == 401
    assert not ApiToken.objects.filter(user=reviewer, revoked_at__isnull=True).exists()
    assert not UserSession.objects.filter(user=reviewer).exists()
    assert AuditEvent.objects.filter(action="session.ended", target_id=str(reviewer.pk)).count() == 1
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_a_person_who_loses_the_role_has_their_token_refused_at_once(reviewer, admin_client_):
    _, raw = api_token_issue(user=reviewer, name="script", actor=Actor.system("test"))
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/drafts").status_code == 200
    admin_client_.post(reverse("routing:person_role", args=[reviewer.pk]), {"role": "reviewer", "grant": "0"})
    assert api.get("/api/v1/drafts").status_code == 403


def test_only_admins_see_sessions(reviewer_client, reviewer):
    assert reviewer_client.get(reverse("person_sessions", args=[reviewer.pk])).status_code == 403


@pytest.fixture
def oidc_only(sso, settings):
    settings.OIDC_ONLY = True
    settings.BREAK_GLASS_USERNAME = "glass"
    return sso


def test_oidc_only_refuses_passwords_but_the_break_glass_admins(oidc_only, reviewer, django_user_model):
    refused = Client().post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert refused.status_code == 403
    assert b"Password sign-in is turned off here: sign in with Fernhill ID (sandbox)" in refused.content
    assert AuditEvent.objects.get(action="login.refused").actor_label == "rita"

    glass = make_user(django_user_model, "glass", "admin")
    page = Client().get(reverse("login")).content
    assert b"Sign in with Fernhill ID (sandbox)" in page and b"break-glass" in page

    client = Client()
    enrol(client, "glass")  # an admin with a password: two-factor too
    assert "_auth_user_id" in client.session
    second = Client()
    second.post(reverse("login"), {"username": "glass", "password": PASSWORD})
    assert second.post(reverse("two_factor_verify"), {"code": next_code("glass")}).status_code == 302

    uses = AuditEvent.objects.filter(action="login.break_glass", target_id=str(glass.pk))
    assert uses.count() == 2
    assert all(use.payload["oidc_only"] for use in uses)

    health = second.get(reverse("routing:health")).content.decode()
    assert "Break-glass sign-ins" in health
    assert health.count("password+totp") == 2


def test_the_health_page_says_when_no_break_glass_admin_is_named(admin_client_, settings):
    settings.BREAK_GLASS_USERNAME = ""
    assert b"No break-glass admin is named" in admin_client_.get(reverse("routing:health")).content
