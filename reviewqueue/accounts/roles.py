"""Roles are Django groups, each granting one permission. Everything is denied unless a role allows it."""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

ROLE_PERMISSIONS = {
    "reviewer": "review_drafts",
    "auditor": "view_audit",
    "admin": "administer",
}
ROLES = tuple(ROLE_PERMISSIONS)


def permission_name(role: str) -> str:
    return f"accounts.{ROLE_PERMISSIONS[role]}"


def user_has_role(user, role: str) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm(permission_name(role))


def user_roles(user) -> list[str]:
    return [role for role in ROLES if user_has_role(user, role)]


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
