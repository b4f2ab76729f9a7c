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


def test_a_duplicate_email_is_one_statement_without_a_savepoint_and_the_transaction_goes_on(broker):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    first, _ = receive()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        again, created = receive(source="poll")
        assert Draft.objects.filter(pk=again.pk).exists()  # not an aborted transaction
    assert not created and again.pk == first.pk and again.source == Draft.Source.WEBHOOK
    statements = [query["sql"].split()[0].upper() for query in queries]
    assert "SAVEPOINT" not in statements and statements.count("INSERT") == 1


def test_a_new_draft_is_stored_as_the_model_would_store_it(broker):
    draft, created = receive(conversation_id="c_7", routing_version_number=4)
    stored = Draft.objects.get(pk=draft.pk)
    assert created and not draft._state.adding
    for field in Draft._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(draft, field.attname), field.name
    assert (stored.status, stored.to, stored.tags, stored.conversation_link) == ("pending", [], {}, "intake")
