import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Draft

pytestmark = pytest.mark.django_db


def receive(**overrides):
    arguments = {"email_id": "em_1", "mailbox_id": "mbx_1", "source": "webhook", "actor": Actor.system("test")}
    return draft_receive(**{**arguments, **overrides})


def test_receiving_a_draft_twice_makes_one_draft_and_one_audit_event(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, created = receive()
        again, created_again = receive(source="poll")
    assert created and not created_again
    assert first.pk == again.pk
    assert Draft.objects.count() == 1
    assert AuditEvent.objects.filter(action="draft.received").count() == 1
    assert broker.queued() == [("review.draft_fetch", [first.pk, False])]


def test_a_received_draft_waits_in_the_queue_as_pending(broker):
    draft, _ = receive()
    assert draft.status == Draft.Status.PENDING
    assert draft.source == Draft.Source.WEBHOOK


def test_intake_names_the_conversation_even_when_the_webhook_came_first(broker, django_capture_on_commit_callbacks):
    receive()
    with django_capture_on_commit_callbacks(execute=True):
        draft, created = receive(source="intake", conversation_id="c_42", routing_version_number=3)
    assert not created
    assert (draft.conversation_id, draft.conversation_link, draft.routing_version_number) == ("c_42", "intake", 3)
    assert ("review.draft_fetch", [draft.pk, True]) in broker.queued()


def test_an_unknown_source_is_refused(broker):
    with pytest.raises(ValueError, match="source"):
        receive(source="carrier-pigeon")
    assert not Draft.objects.exists()
