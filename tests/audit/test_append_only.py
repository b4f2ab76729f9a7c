import pytest
from django.db import DatabaseError, connection, transaction

from reviewqueue.audit.models import AuditEvent, AuditLogIsAppendOnly
from reviewqueue.audit.services import Actor, audit_record


@pytest.fixture
def event(db):
    return audit_record(actor=Actor.system("test"), action="thing.happened", payload={"reason": "because"})


def _raw(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_update_fails_at_the_database(event):
    with pytest.raises(DatabaseError, match="append-only: UPDATE"):
        _raw("UPDATE audit_auditevent SET action = 'forged' WHERE seq = %s", [event.seq])
    assert AuditEvent.objects.get(seq=event.seq).action == "thing.happened"


def test_a_delete_fails_at_the_database(event):
    with pytest.raises(DatabaseError, match="append-only: DELETE"):
        _raw("DELETE FROM audit_auditevent WHERE seq = %s", [event.seq])
    assert AuditEvent.objects.filter(seq=event.seq).exists()


def test_a_truncate_fails_at_the_database(event):
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE"):
        # The suite's own flush permission is switched off, as it is in production.
        _raw("SET LOCAL reviewqueue.allow_audit_truncate = 'off'; TRUNCATE audit_auditevent")
    assert AuditEvent.objects.filter(seq=event.seq).exists()


def test_a_queryset_update_fails_at_the_database(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=event.seq).update(action="forged")


def test_the_model_refuses_to_save_or_delete_an_existing_event(event):
    event.action = "forged"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()


def test_transactional_tests_can_still_flush_the_test_database(transactional_db):
    # The flush after this test TRUNCATEs the audit table; the test database lets it through.
    audit_record(actor=Actor.system("test"), action="thing.happened")
    assert AuditEvent.objects.count() == 1


def test_checkpoints_cannot_be_changed_or_deleted_at_the_database(event):
    from reviewqueue.audit.services import audit_checkpoint_store

    checkpoint = audit_checkpoint_store()
    with pytest.raises(DatabaseError, match="append-only: DELETE on audit_auditcheckpoint"):
        _raw("DELETE FROM audit_auditcheckpoint WHERE id = %s", [checkpoint.pk])
    with pytest.raises(DatabaseError, match="append-only: UPDATE"):
        _raw("UPDATE audit_auditcheckpoint SET seq = 0 WHERE id = %s", [checkpoint.pk])
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE"):
        _raw("SET LOCAL reviewqueue.allow_audit_truncate = 'off'; TRUNCATE audit_auditcheckpoint")
