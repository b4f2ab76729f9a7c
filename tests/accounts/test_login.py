import time

import pytest
from django.test import Client
from django.urls import reverse

from reviewqueue.accounts import throttle
from reviewqueue.accounts.middleware import RENEWED_AT_KEY, renewal_interval
from reviewqueue.audit.models import AuditEvent
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def fresh_throttle():
    for username in ("rita", "nobody"):
        throttle.login_succeeded(username, "127.0.0.1")
    yield
    for username in ("rita", "nobody"):
        throttle.login_succeeded(username, "127.0.0.1")


def test_login_page_has_a_strict_content_security_policy(client, db):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy


def test_a_reviewer_logs_in_and_lands_on_the_queue(client, reviewer):
    response = client.post(reverse("login"), {"username": "rita", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("review:queue")
    assert AuditEvent.objects.filter(action="login", actor_label="rita").exists()


def test_login_refuses_a_post_without_csrf_token(reviewer):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert response.status_code == 403


def test_logout_needs_a_post_with_csrf_token(reviewer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reviewer)
    assert strict.get(reverse("logout")).status_code == 405
    assert strict.post(reverse("logout")).status_code == 403


def test_failed_logins_are_audited_with_the_claimed_name(client, db):
    client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    event = AuditEvent.objects.get(action="login.failed")
    assert event.actor_label == "nobody"
    assert event.ip == "127.0.0.1"


def test_login_is_throttled_after_repeated_failures(client, reviewer, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "rita", "password": "wrong"}).status_code == 200
    # Even the right password is refused while the wait holds.
    response = client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_next_parameter_cannot_send_people_off_site(client, reviewer):
    response = client.post(reverse("login") + "?next=https://evil.example/", {"username": "rita", "password": PASSWORD})
    assert response["Location"] == "/"


def test_sessions_end_after_the_idle_timeout(client, reviewer, settings):
    settings.SESSION_COOKIE_AGE = 1
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert client.get(reverse("review:queue")).status_code == 200
    time.sleep(1.5)
    assert client.get(reverse("review:queue")).status_code == 302


def make_renewal_due(client) -> None:
    """As if the session's expiry had last been renewed an hour ago."""
    session = client.session
    session[RENEWED_AT_KEY] = int(time.time()) - 3600
    session.save()


def test_background_polls_do_not_keep_an_idle_session_alive(client, reviewer, settings):
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    make_renewal_due(client)
    poll = client.get(reverse("review:queue"), headers={"X-Background-Poll": "1", "HX-Request": "true"})
    assert poll.status_code in (200, 204)
    assert settings.SESSION_COOKIE_NAME not in poll.cookies  # expiry not renewed
    visit = client.get(reverse("review:queue"))
    assert visit.status_code == 200
    assert settings.SESSION_COOKIE_NAME in visit.cookies  # a person's request renews it


def test_a_persons_requests_renew_the_session_at_most_once_a_minute(client, reviewer, settings):
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    make_renewal_due(client)
    assert settings.SESSION_COOKIE_NAME in client.get(reverse("review:queue")).cookies  # renewed
    again = client.get(reverse("review:queue"))
    assert again.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in again.cookies  # renewed a moment ago: no session write


def test_the_renewal_interval_is_a_small_part_of_the_idle_timeout(settings):
    # Renewing less often can end a session up to one interval early, never late.
    settings.SESSION_COOKIE_AGE = 1800
    assert renewal_interval() == 60
    settings.SESSION_COOKIE_AGE = 600
    assert renewal_interval() == 20
    settings.SESSION_COOKIE_AGE = 1
    assert renewal_interval() == 0
