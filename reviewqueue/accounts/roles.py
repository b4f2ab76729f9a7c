"""Roles are Django groups, each granting one permission. Everything is denied unless a role allows it."""

import functools

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

ROLE_PERMISSIONS = {
    "reviewer": "review_drafts",
    "auditor": "view_audit",
    "admin": "administer",
}
ROLES = tuple(ROLE_PERMISSIONS)


def permission_name(role: str) -> str:
    return f"accounts.{ROLE_PERMISSIONS[role]}"


def user_has_role(user, role: str) -> bool:
    return role in user_roles(user)


def user_roles(user) -> list[str]:
    """The user's roles, read once per user object (so once per request) with one query.

    The same answer as asking user.has_perm() for each role's permission with Django's ModelBackend
    (superusers hold every role), which would cost two queries and about ten times the CPU on every page.
    """
    if not (user.is_authenticated and user.is_active):
        return []
    roles = getattr(user, "_role_cache", None)
    if roles is None:
        roles = ROLES if user.is_superuser else _granted_roles(user)
        user._role_cache = roles
    return list(roles)


def role_codenames_sql(user_id_sql: str) -> str:
    """SQL for an array of the role permissions' codenames the user whose id is `user_id_sql` holds, directly or
    through a group (what _granted_roles reads), for a statement that reads the user to read the roles with it."""
    codenames = ", ".join(f"'{codename}'" for codename in ROLE_PERMISSIONS.values())  # ours, no quotes in them
    return (
        "SELECT ARRAY(SELECT p.codename FROM auth_permission p"  # noqa: S608 (our own codenames and a column)
        " JOIN django_content_type ct ON ct.id = p.content_type_id"
        f" WHERE ct.app_label = 'accounts' AND p.codename IN ({codenames})"
        f" AND (p.id IN (SELECT permission_id FROM auth_user_user_permissions WHERE user_id = {user_id_sql})"
        " OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp"
        f" JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = {user_id_sql})))"
    )


def remember_roles(user, codenames: list[str]) -> None:
    """Keep the roles read with `role_codenames` on this user object, as user_roles would read them."""
    held = set(codenames)
    user._role_cache = ROLES if user.is_superuser else tuple(r for r in ROLES if ROLE_PERMISSIONS[r] in held)


def forget_roles(user) -> None:
    """Drop the roles read for this user object (after granting or revoking one)."""
    user.__dict__.pop("_role_cache", None)


def _granted_roles(user) -> tuple[str, ...]:
    # Written out (role_codenames_sql, the API's token statement's own): the ORM's two-join OR compiled on every
    # page cost about as much CPU as the rest of the role check and the user's read together.
    with connection.cursor() as cursor:
        cursor.execute(_granted_roles_sql(), [user.pk, user.pk])
        (codenames,) = cursor.fetchone()
    return tuple(role for role in ROLES if ROLE_PERMISSIONS[role] in codenames)


@functools.cache
def _granted_roles_sql() -> str:
    return role_codenames_sql("%s")


def role_group(role: str) -> Group:
    """The group for a role, created with its permission on first use."""
    from reviewqueue.accounts.models import Access

    group, created = Group.objects.get_or_create(name=role)
    if created or not group.permissions.exists():
        content_type = ContentType.objects.get_for_model(Access, for_concrete_model=False)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename=ROLE_PERMISSIONS[role],
            defaults={"name": dict(Access._meta.permissions)[ROLE_PERMISSIONS[role]]},
        )
        group.permissions.add(permission)
    return group
