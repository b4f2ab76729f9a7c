"""The identity reviewqueue itself decides as (expiry): Decision.reviewer must name a user.

A dedicated user, `reviewqueue-system` ("reviewqueue (system)"), made on first use: inactive and
without a usable password, so nobody can sign in as it or hold a token, and it has no role. Decisions
it makes carry origin "system", and the audit log records the sweep that made them.
"""

from django.contrib.auth import get_user_model

SYSTEM_USERNAME = "reviewqueue-system"


def system_reviewer():
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "reviewqueue", "last_name": "(system)", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
