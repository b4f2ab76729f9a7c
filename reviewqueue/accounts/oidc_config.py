"""Reading the single sign-on settings (settings.py calls these before Django is set up: no models here)."""

from django.core.exceptions import ImproperlyConfigured

TWO_FACTOR_POLICIES = ("admins", "everyone")


def parse_role_map(name: str, text: str, known_roles: tuple[str, ...]) -> dict[str, str]:
    """`rq-reviewers=reviewer,rq-admins=admin` → {"rq-reviewers": "reviewer", "rq-admins": "admin"}.

    A provider group maps to one role; several groups may map to the same role."""
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        group, sep, role = (piece.strip() for piece in item.rpartition("="))
        if not sep or not group or not role:
            raise ImproperlyConfigured(f"{name}: {item!r} is not group=role (e.g. rq-admins=admin)")
        if role not in known_roles:
            raise ImproperlyConfigured(f"{name}: {role!r} is not a role; roles are {', '.join(known_roles)}")
        mapping[group] = role
    return mapping


def parse_two_factor_policy(name: str, value: str) -> str:
    if value not in TWO_FACTOR_POLICIES:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(TWO_FACTOR_POLICIES)}, got {value!r}")
    return value
