from django.db import models

from reviewqueue.integrations.intercom.types import Conversation


class ConversationSnapshot(models.Model):
    """An Intercom conversation as fetched at one moment; a new row only when its content changed.

    Rows are never rewritten (a reviewer's decision points at the exact snapshot they saw), except
    `checked_at`, which says when a later fetch last found the same content.
    """

    conversation_id = models.CharField(max_length=64)
    fetched_at = models.DateTimeField(help_text="when this content was first fetched")
    checked_at = models.DateTimeField(help_text="when a fetch last found this same content")
    conversation_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="Intercom's updated_at: orders snapshots by Intercom's own clock"
    )
    data = models.JSONField(help_text="the normalized conversation (types.Conversation.to_data)")
    content_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["conversation_id", "-id"], name="intercom_snapshot_latest")]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} as of {self.fetched_at:%Y-%m-%d %H:%M:%S}"

    @property
    def conversation(self) -> Conversation:
        return Conversation.from_data(self.data)
