"""The outbox sweeper under a backlog: items waiting on their decision's decide must not fill its batch.

Found by the default soak (bench/soak.py, 10,000 drafts, 2026-12-07 19:42): after the drive the sweeper
re-drove 4 items a sweep while 4,712 waited on an idle machine. Fixed in b08acb7 (the query leaves the
waiting items out, not the loop after it). Real Redis and PostgreSQL; MultiMail and Intercom faked.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.review.models import OutboxItem
from reviewqueue.review.outbox import outbox_sweep
from tests.review.conftest import intercom, linked_draft, multimail, use_fakes
from tests.review.test_outbox import decide

__all__ = ["intercom", "linked_draft", "multimail", "use_fakes"]  # fixtures, imported to be found here
pytestmark = pytest.mark.django_db


def test_items_waiting_on_their_decide_do_not_fill_the_sweepers_batch(broker, linked_draft, reviewer, monkeypatch):
    """The items after a decide wait for it, and are the oldest due (a re-driven decide is due again from
    now): a batch that took them and left them out afterwards re-drove nothing while the decides that
    would free them waited behind (the soak: 4 items a sweep, 4,700 waiting)."""
    from reviewqueue.review import outbox

    decide(linked_draft, reviewer)
    decide_item = OutboxItem.objects.get(kind="decide")
    waiting = OutboxItem.objects.exclude(pk=decide_item.pk)
    assert waiting.count() > 2
    waiting.update(next_attempt_at=timezone.now() - timedelta(minutes=9))
    OutboxItem.objects.filter(pk=decide_item.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    broker.flush()
    monkeypatch.setattr(outbox, "SWEEP_BATCH", 2)  # fewer than the items waiting on the decide

    assert outbox_sweep() == 1
    assert broker.queued() == [("review.outbox_run", [decide_item.pk])]
