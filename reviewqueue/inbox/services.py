"""An admin maps an Intercom teammate (admin id) to a person explicitly, or clears it; both audited."""

import re

from django.db import IntegrityError, transaction

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.inbox.models import IntercomTeammate

# Intercom's admin ids are numbers ("991"); letters, - and _ are let through for other spellings.
ADMIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TeammateMappingRefused(ValueError):
    """The admin id cannot be mapped as given; the message says why."""


def intercom_teammate_set(*, person, admin_id: str, actor: Actor, origin: RequestOrigin | None = None) -> bool:
    """Map Intercom's `admin_id` to `person` (empty: clear their mapping). False when nothing changed."""
    admin_id = (admin_id or "").strip()
    if admin_id and not ADMIN_ID.fullmatch(admin_id):
        raise TeammateMappingRefused("an Intercom admin id is up to 64 letters, digits, - or _ (as in 991)")
    current = IntercomTeammate.objects.filter(person=person).first()
    before = current.admin_id if current else ""
    if admin_id == before:
        return False
    taken = IntercomTeammate.objects.filter(admin_id=admin_id).exclude(person=person).select_related("person").first()
    if admin_id and taken is not None:
        raise TeammateMappingRefused(f"Intercom admin {admin_id} is already mapped to {taken.person.get_username()}")
    try:
        with transaction.atomic():
            IntercomTeammate.objects.filter(person=person).delete()
            if admin_id:
                IntercomTeammate.objects.create(person=person, admin_id=admin_id)
            audit_record(
                actor=actor,
                action="person.intercom_teammate_set" if admin_id else "person.intercom_teammate_cleared",
                target_type="user",
                target_id=person.pk,
                payload={"username": person.get_username(), "admin_id": admin_id, "before": before},
                origin=origin,
            )
    except IntegrityError:  # mapped to someone else meanwhile
        raise TeammateMappingRefused(f"Intercom admin {admin_id} is already mapped to another person") from None
    return True
