"""A personal API token, its user and the user's roles are read by one statement, and agree with
ApiToken's own rules (active user, not expired, not revoked) and with user_roles (issue 23)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviewqueue.accounts.models import ApiToken
from reviewqueue.accounts.roles import ROLES, user_roles
from reviewqueue.accounts.services import api_token_issue, role_grant, role_revoke
from reviewqueue.accounts.tokens import authenticate_api_token
from reviewqueue.audit.services import Actor
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def issued(user) -> tuple[ApiToken, str]:
    return api_token_issue(user=user, name="cli", actor=Actor.system("test"))


def presented(raw: str):
    return RequestFactory().get("/api/v1/drafts", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_token_user_and_roles_in_one_statement_and_no_write_while_last_used_is_recent(django_user_model):
    user = make_user(django_user_model, "rita", "reviewer", "auditor")
    _, raw = issued(user)
    authenticate_api_token(presented(raw))  # the first use writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        token = authenticate_api_token(presented(raw))
        roles = user_roles(token.user)
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert roles == ["reviewer", "auditor"]
    assert (token.user.pk, token.user.username, token.user_id) == (user.pk, "rita", user.pk)


@pytest.mark.parametrize("held", [(), ("reviewer",), ("auditor", "admin"), ROLES])
def test_the_roles_read_with_the_token_are_user_roles(django_user_model, held):
    user = make_user(django_user_model, "someone", *held)
    _, raw = issued(user)
    token = authenticate_api_token(presented(raw))
    assert user_roles(token.user) == user_roles(django_user_model.objects.get(pk=user.pk))


def test_a_permission_given_directly_and_a_superuser_count(django_user_model):
    direct = make_user(django_user_model, "direct")
    direct.user_permissions.add(Permission.objects.get_or_create(codename="view_audit")[0])
    boss = django_user_model.objects.create_superuser("boss", password="x")
    assert user_roles(authenticate_api_token(presented(issued(direct)[1])).user) == ["auditor"]
    assert user_roles(authenticate_api_token(presented(issued(boss)[1])).user) == list(ROLES)


def test_a_role_granted_or_revoked_counts_from_the_next_request(django_user_model):
    user = make_user(django_user_model, "changing")
    _, raw = issued(user)
    actor = Actor.system("test")
    assert user_roles(authenticate_api_token(presented(raw)).user) == []
    role_grant(user=user, role="reviewer", actor=actor)
    assert user_roles(authenticate_api_token(presented(raw)).user) == ["reviewer"]
    role_revoke(user=user, role="reviewer", actor=actor)
    assert user_roles(authenticate_api_token(presented(raw)).user) == []


def test_no_token_for_an_inactive_user_an_expired_or_revoked_token_or_a_wrong_key(django_user_model):
    user = make_user(django_user_model, "rita", "reviewer")
    token, raw = issued(user)
    assert authenticate_api_token(presented(raw + "x")) is None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_api_token(presented(raw)) is None
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    assert authenticate_api_token(presented(raw)) is None
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    assert authenticate_api_token(presented(raw)) is not None
    django_user_model.objects.filter(pk=user.pk).update(is_active=False)
    assert authenticate_api_token(presented(raw)) is None
