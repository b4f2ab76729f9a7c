from django.conf import settings
from django.db import models
from django.utils import timezone


class IntercomTeammate(models.Model):
    """An Intercom teammate (admin id) mapped to a reviewqueue person by an admin, on the person's page.

    It wins over the email match (inbox/teammates.py): for a teammate whose Intercom email differs
    from their reviewqueue one. One admin id maps to one person, and one person to one admin id.
    """

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="intercom_teammate")
    admin_id = models.CharField(max_length=64, unique=True, help_text="Intercom's admin id of the teammate")
    set_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Intercom admin {self.admin_id} is person {self.person_id}"
