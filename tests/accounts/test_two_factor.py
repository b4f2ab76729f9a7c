"""TOTP two-factor (django-otp) with recovery codes: required for admins signing in with a password,
optional for others (TWO_FACTOR_REQUIRED=everyone requires it of all), enrolment by QR code, recovery codes
shown once and kept hashed, failed codes counted by the login throttle, reset by another admin."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewqueue.accounts.mfa import _code_hash
from reviewqueue.accounts.models import RecoveryCode, UserSession
from reviewqueue.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.two_factor import code_for_key, key_from_manual_entry, next_code

pytestmark = pytest.mark.usefixtures("clean_throttle")
CODE_PATTERN = re.compile(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")


def password(client: Client, username: str):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def enrol(client: Client, username: str) -> list[str]:
    """Password, then the enrolment page: read the key as a person would type it, confirm with a code."""
    assert password(client, username)["Location"] == reverse("two_factor_setup")
    page = client.get(reverse("two_factor_setup")).content.decode()
    key = key_from_manual_entry(re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1))
    response = client.post(reverse("two_factor_setup"), {"code": code_for_key(key)})
    assert response.status_code == 200
    return CODE_PATTERN.findall(response.content.decode())


def test_an_admin_with_a_right_password_must_enrol_before_anything_opens(admin_user):
    client = Client()
    assert password(client, "ada")["Location"] == reverse("two_factor_setup")
    assert not signed_in(client)
    assert client.get(reverse("routing:home")).status_code == 302  # to the login page
    page = client.get(reverse("two_factor_setup"))
    assert b'src="data:image/svg+xml;base64,' in page.content  # the QR code, inline under the CSP
    assert "default-src 'none'" in page["Content-Security-Policy"]


def test_enrolment_by_code_signs_in_and_shows_recovery_codes_once_stored_hashed(admin_user):
    client = Client()
    codes = enrol(client, "ada")
    assert signed_in(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=admin_user).values_list("code_hash", flat=True))
    assert stored == {_code_hash(code) for code in codes}
    assert not stored & set(codes)
    assert TOTPDevice.objects.get(user=admin_user).confirmed
    assert AuditEvent.objects.filter(action="two_factor.enrolled", target_id=str(admin_user.pk)).exists()
    assert UserSession.objects.get(user=admin_user).method == "password+totp"
    assert not CODE_PATTERN.search(client.get(reverse("profile")).content.decode())  # never shown again


def test_a_wrong_enrolment_code_confirms_nothing(admin_user):
    client = Client()
    password(client, "ada")
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"code": "000000"})
    assert response.status_code == 400
    assert not signed_in(client)
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_an_enrolled_admin_is_asked_for_a_code_and_a_wrong_one_is_refused_and_audited(admin_user):
    enrol(Client(), "ada")
    client = Client()
    assert password(client, "ada")["Location"] == reverse("two_factor_verify")
    response = client.post(reverse("two_factor_verify"), {"code": "123456"})
    assert response.status_code == 200
    assert b"not right" in response.content
    assert not signed_in(client)
    failed = AuditEvent.objects.get(action="login.two_factor_failed")
    assert failed.actor_label == "ada"

    response = client.post(reverse("two_factor_verify"), {"code": next_code("ada")})
    assert response.status_code == 302 and signed_in(client)


def test_a_recovery_code_works_once(admin_user):
    codes = enrol(Client(), "ada")
    first = Client()
    password(first, "ada")
    assert first.post(reverse("two_factor_verify"), {"code": codes[3].lower()}).status_code == 302
    assert signed_in(first)
    assert UserSession.objects.filter(user=admin_user, method="password+recovery").exists()
    assert AuditEvent.objects.get(action="two_factor.recovery_code_used").payload["left"] == 9

    again = Client()
    password(again, "ada")
    response = again.post(reverse("two_factor_verify"), {"code": codes[3]})
    assert response.status_code == 200 and not signed_in(again)


def test_failed_codes_count_towards_the_login_throttle(admin_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    enrol(Client(), "ada")
    client = Client()
    password(client, "ada")
    for _ in range(3):
        client.post(reverse("two_factor_verify"), {"code": "000000"})
    response = client.post(reverse("two_factor_verify"), {"code": next_code("ada")})
    assert response.status_code == 429
    assert not signed_in(client)
    assert password(Client(), "ada").status_code == 429  # the password form waits too


def test_the_code_page_without_a_right_password_sends_back_to_log_in(db):
    client = Client()
    assert client.get(reverse("two_factor_verify"))["Location"] == reverse("login")
    assert client.post(reverse("two_factor_setup"), {"code": "123456"})["Location"] == reverse("login")


def test_others_sign_in_without_a_code_unless_they_enrolled(reviewer):
    client = Client()
    assert password(client, "rita")["Location"] == reverse("home")
    assert signed_in(client)
    # Rita turns it on from her profile, and is asked from then on.
    page = client.get(reverse("two_factor_setup")).content.decode()
    key = key_from_manual_entry(re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1))
    assert client.post(reverse("two_factor_setup"), {"code": code_for_key(key)}).status_code == 200
    assert password(Client(), "rita")["Location"] == reverse("two_factor_verify")


def test_a_setting_requires_it_of_everyone(reviewer, settings):
    settings.TWO_FACTOR_REQUIRED = "everyone"
    client = Client()
    assert password(client, "rita")["Location"] == reverse("two_factor_setup")
    assert not signed_in(client)


def test_the_page_asked_for_before_signing_in_opens_after_the_code(admin_user):
    enrol(Client(), "ada")
    client = Client()
    client.post(reverse("login") + "?next=/manage/health/", {"username": "ada", "password": PASSWORD})
    response = client.post(reverse("two_factor_verify"), {"code": next_code("ada")})
    assert response["Location"] == "/manage/health/"


def test_another_admin_resets_a_lost_device_audited_and_nobody_resets_their_own(admin_user, django_user_model):
    from tests.conftest import make_user

    enrol(Client(), "ada")
    bo = make_user(django_user_model, "bo", "admin")
    bo_client = Client()
    bo_client.force_login(bo)
    ada_client = Client()
    ada_client.force_login(admin_user)

    own = ada_client.post(reverse("person_two_factor_reset", args=[admin_user.pk]))
    assert own.status_code == 302 and TOTPDevice.objects.filter(user=admin_user).exists()

    person_page = bo_client.get(reverse("routing:person", args=[admin_user.pk])).content.decode()
    assert "Reset two-factor" in person_page
    response = bo_client.post(reverse("person_two_factor_reset", args=[admin_user.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert not RecoveryCode.objects.filter(user=admin_user).exists()
    reset = AuditEvent.objects.get(action="two_factor.reset")
    assert reset.actor_label == "bo" and reset.target_id == str(admin_user.pk)
    assert password(Client(), "ada")["Location"] == reverse("two_factor_setup")  # enrols again


def test_reviewers_cannot_reset_anyones_two_factor(reviewer_client, admin_user):
    enrol(Client(), "ada")
    assert reviewer_client.post(reverse("person_two_factor_reset", args=[admin_user.pk])).status_code == 403
    assert TOTPDevice.objects.filter(user=admin_user).exists()


def test_the_profile_offers_two_factor_and_renews_recovery_codes(reviewer):
    client = Client()
    client.force_login(reviewer)
    assert b"Set up two-factor" in client.get(reverse("profile")).content
    page = client.get(reverse("two_factor_setup")).content.decode()
    key = key_from_manual_entry(re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1))
    old = CODE_PATTERN.findall(client.post(reverse("two_factor_setup"), {"code": code_for_key(key)}).content.decode())
    assert b"10 recovery codes left" in client.get(reverse("profile")).content

    new = CODE_PATTERN.findall(client.post(reverse("recovery_codes_new")).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    stored = set(RecoveryCode.objects.filter(user=reviewer).values_list("code_hash", flat=True))
    assert stored == {_code_hash(code) for code in new}
