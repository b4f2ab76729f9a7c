"""People: create, grant and revoke roles, deactivate, personal API tokens. All audited."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from reviewqueue.accounts.roles import user_has_role
from reviewqueue.audit.models import AuditEvent


def test_an_admin_creates_a_person_with_roles(admin_client_, admin_user):
    response = admin_client_.post(
        reverse("routing:people"), {"username": "rosa", "email": "rosa@example.com", "roles": ["reviewer"]}
    )
    assert response.status_code == 302
    rosa = get_user_model().objects.get(username="rosa")
    assert user_has_role(rosa, "reviewer") and not user_has_role(rosa, "admin")
    assert not rosa.has_usable_password()
    assert AuditEvent.objects.filter(action="user.created", actor_id=str(admin_user.pk)).exists()
    assert AuditEvent.objects.filter(action="role.granted", target_id=str(rosa.pk)).exists()


def test_a_weak_password_or_a_taken_username_is_refused(admin_client_, reviewer):
    response = admin_client_.post(reverse("routing:people"), {"username": "rita"})
    assert response.status_code == 400 and b"already exists" in response.content
    response = admin_client_.post(reverse("routing:people"), {"username": "newbie", "password": "short"})
    assert response.status_code == 400 and b"password" in response.content
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_roles_are_granted_and_revoked(admin_client_, reviewer):
    url = reverse("routing:person_role", args=[reviewer.pk])
    admin_client_.post(url, {"role": "auditor", "grant": "1"})
    assert user_has_role(get_user_model().objects.get(pk=reviewer.pk), "auditor")
    admin_client_.post(url, {"role": "reviewer", "grant": "0"})
    assert not user_has_role(get_user_model().objects.get(pk=reviewer.pk), "reviewer")
    assert AuditEvent.objects.filter(action="role.revoked", target_id=str(reviewer.pk)).exists()


def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(admin_client_, admin_user):
    admin_client_.post(reverse("routing:person_role", args=[admin_user.pk]), {"role": "admin", "grant": "0"})
    admin_client_.post(reverse("routing:person_active", args=[admin_user.pk]), {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active and user_has_role(admin_user, "admin")


def test_a_deactivated_person_loses_pages_and_tokens(admin_client_, reviewer, client):
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.accounts.tokens import authenticate_api_token
    from reviewqueue.audit.services import Actor

    _, raw = api_token_issue(user=reviewer, name="cli", actor=Actor.system("test"))
    admin_client_.post(reverse("routing:person_active", args=[reviewer.pk]), {"active": "0"})
    reviewer.refresh_from_db()
    assert not reviewer.is_active
    event = AuditEvent.objects.get(action="user.deactivated")
    assert (event.payload["old"], event.payload["new"]) == ({"is_active": True}, {"is_active": False})

    class Request:
        headers = {"Authorization": f"Bearer {raw}"}

    assert authenticate_api_token(Request()) is None
    admin_client_.post(reverse("routing:person_active", args=[reviewer.pk]), {"active": "1"})
    reviewer.refresh_from_db()
    assert reviewer.is_active


def test_an_admin_lists_and_revokes_a_persons_token_without_seeing_it(admin_client_, reviewer):
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor

    token, raw = api_token_issue(user=reviewer, name="laptop", actor=Actor.person(reviewer))
    page = admin_client_.get(reverse("routing:person", args=[reviewer.pk])).content.decode()
    assert "laptop" in page and token.key_hint in page and raw not in page
    admin_client_.post(reverse("routing:person_token_revoke", args=[reviewer.pk, token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoked").exists()
