"""Opening a draft has a real Celery worker read its conversation again at the Intercom sandbox, so the
approval that follows asks Intercom nothing (review/context.py; the approval's own re-check would have
read it: its snapshot was last confirmed five minutes ago, past CONTEXT_MAX_AGE)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.review.models import Decision
from tests.conftest import logged_in_client
from tests.livesystem import wait_for
from tests.review.test_outbox_worker import a_draft_with_its_conversation, sandboxes, start_worker

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["sandboxes"]  # the fixture, shared with the outbox's worker tests


def test_the_approval_after_opening_a_draft_finds_its_context_refreshed_by_the_worker(sandboxes, reviewer, settings):
    settings.CONTEXT_MAX_AGE = 60
    draft = a_draft_with_its_conversation(sandboxes)
    shown = draft.latest_snapshot_id
    snapshot = ConversationSnapshot.objects.filter(pk=shown)
    snapshot.update(checked_at=timezone.now() - timedelta(minutes=5))
    start_worker(sandboxes)
    client = logged_in_client(reviewer)

    assert client.get(reverse("review:draft", args=[draft.pk])).status_code == 200
    recently = timezone.now() - timedelta(seconds=10)
    wait_for(lambda: snapshot.get().checked_at > recently, timeout=30, what="the worker confirmed the conversation")
    confirmed_at = snapshot.get().checked_at

    response = client.post(
        reverse("review:draft_decision", args=[draft.pk]), {"action": "approve", "shown_snapshot_id": shown}
    )

    assert response.status_code == 302
    decision = Decision.objects.get(draft=draft)
    assert (decision.snapshot_id, decision.context_recheck_error) == (shown, "")
    assert snapshot.get().checked_at == confirmed_at  # the approval read nothing from Intercom
