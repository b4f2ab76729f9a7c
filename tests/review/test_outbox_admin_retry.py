import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import OutboxItem
from reviewqueue.review.outbox import MAX_ATTEMPTS, outbox_run
from reviewqueue.review.outbox_admin import outbox_retry

pytestmark = pytest.mark.django_db


def test_an_admin_retry_of_a_note_intercom_already_wrote_does_not_write_it_twice(
    broker, linked_draft, reviewer, admin_user, multimail, intercom
):
    decision = draft_decide(draft=linked_draft, reviewer=reviewer, action="approve", reason="", origin="web")
    for item in OutboxItem.objects.order_by("sequence", "pk"):
        outbox_run(item_id=item.pk, multimail=multimail.client(), intercom=intercom.client())
    note = OutboxItem.objects.get(kind="intercom_note")
    # Intercom wrote the note but its answer was lost; Intercom then stayed down until the item gave up.
    OutboxItem.objects.filter(pk=note.pk).update(
        status="failed",
        attempts=MAX_ATTEMPTS,
        last_error=f"gave up after {MAX_ATTEMPTS} attempts: Intercom unavailable",
    )
    note.refresh_from_db()

    retried = outbox_retry(item=note, actor=Actor.person(admin_user))
    assert retried.attempts == 0
    assert outbox_run(item_id=note.pk, intercom=intercom.client()) == "done"

    [written] = intercom.notes("c_7")
    assert f"decision {decision.pk}" in written["body"]
    note.refresh_from_db()
    assert note.result["repeated"] is True
    assert AuditEvent.objects.filter(action="intercom.note_written").count() == 2  # the write, then the look
