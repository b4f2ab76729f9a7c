"""Roles are read once per request, and agree with Django's own permission check."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviewqueue.accounts.roles import ROLES, permission_name, user_has_role, user_roles
from reviewqueue.accounts.services import role_grant, role_revoke
from reviewqueue.audit.services import Actor
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("held", [(), ("reviewer",), ("auditor", "admin"), ROLES])
def test_roles_agree_with_django_permissions(django_user_model, held):
    user = make_user(django_user_model, "someone", *held)
    fresh = django_user_model.objects.get(pk=user.pk)
    assert user_roles(fresh) == [role for role in ROLES if fresh.has_perm(permission_name(role))]
    assert user_roles(fresh) == [role for role in ROLES if role in held]


def test_a_permission_given_directly_counts_as_the_role(django_user_model):
    user = make_user(django_user_model, "direct")
    user.user_permissions.add(Permission.objects.get(codename="view_audit"))
    assert user_roles(django_user_model.objects.get(pk=user.pk)) == ["auditor"]


def test_a_superuser_holds_every_role_and_an_inactive_person_none(django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="x")
    gone = make_user(django_user_model, "gone", "reviewer")
    gone.is_active = False
    assert user_roles(boss) == list(ROLES)
    assert user_roles(gone) == []


def test_one_query_however_often_roles_are_asked(django_user_model):
    user = django_user_model.objects.get(pk=make_user(django_user_model, "busy", "reviewer", "auditor").pk)
    with CaptureQueriesContext(connection) as queries:
        for role in ROLES * 3:
            user_has_role(user, role)
        user_roles(user)
    assert len(queries) == 1


def test_granting_and_revoking_are_seen_by_the_same_user_object(django_user_model):
    user = make_user(django_user_model, "changing")
    actor = Actor.system("test")
    assert not user_has_role(user, "reviewer")
    role_grant(user=user, role="reviewer", actor=actor)
    assert user_has_role(user, "reviewer")
    role_revoke(user=user, role="reviewer", actor=actor)
    assert not user_has_role(user, "reviewer")
