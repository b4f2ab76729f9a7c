"""Issue 16, finding 6: what was decided cannot be changed in the database.

A trigger on review_decision refuses an UPDATE of anything but the carrying-out column
(carried_out_status: what MultiMail answered), any DELETE, and a TRUNCATE, whoever is connected,
as the audit log's triggers do for the log.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Decision
from reviewqueue.review.outbox import outbox_run
from tests.fakes import FakeMultiMail
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

# Who, what, why, on which evidence, and when: each one a change that would rewrite the record.
FORGERIES = [
    ("action", "'approve'"),
    ("reason", "'looked fine to me'"),
    ("reviewer_id", "reviewer_id + 1"),
    ("reviewer_username", "'someone_else'"),
    ("content_hash", "repeat('f', 64)"),
    ("snapshot_id", "42"),
    ("decided_at", "decided_at - interval '1 hour'"),
    ("origin", "'api'"),
    ("ip", "'10.9.9.9'"),
]


@pytest.fixture
def decision(reviewer) -> Decision:
    draft = received_draft()
    return draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong recipient", origin="web")


def raw(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def decided_columns(decision: Decision) -> tuple:
    row = Decision.objects.filter(pk=decision.pk).values_list(
        "action", "reason", "reviewer_id", "reviewer_username", "content_hash", "snapshot_id", "decided_at"
    )
    return row.get()


@pytest.mark.parametrize(("column", "forged"), FORGERIES, ids=[column for column, _ in FORGERIES])
def test_what_was_decided_cannot_be_updated_at_the_database(decision, column, forged):
    before = decided_columns(decision)
    with pytest.raises(DatabaseError, match="decision cannot be changed: UPDATE"):
        raw(f"UPDATE review_decision SET {column} = {forged} WHERE id = %s", [decision.pk])
    assert decided_columns(decision) == before


def test_an_orm_update_that_touches_a_decided_column_fails_too(decision):
    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(action="approve", carried_out_status="approved_and_sent")
    assert Decision.objects.get(pk=decision.pk).action == "reject"


def test_a_decision_cannot_be_deleted_or_truncated(decision):
    with pytest.raises(DatabaseError, match="decision cannot be changed: DELETE"):
        raw(
            "DELETE FROM review_outboxitem WHERE decision_id = %s; DELETE FROM review_decision WHERE id = %s",
            [
                decision.pk,
                decision.pk,
            ],
        )
    with pytest.raises(DatabaseError, match="decision cannot be changed: TRUNCATE"):
        # The suite's own flush permission is switched off, as it is in production.
        # (The test's own transaction has deferred foreign-key checks pending: run them first.)
        raw(
            "SET LOCAL reviewqueue.allow_audit_truncate = 'off'; SET CONSTRAINTS ALL IMMEDIATE; "
            "TRUNCATE review_decision CASCADE"
        )
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_carrying_the_decision_out_still_records_what_multimail_answered(decision):
    multimail = FakeMultiMail()
    multimail.add_email("em_1")
    before = decided_columns(decision)
    decide = decision.outbox_items.get(kind="decide")
    assert outbox_run(item_id=decide.pk, multimail=multimail.client(), intercom=None) == "done"
    decision.refresh_from_db()
    assert decision.carried_out_status == "rejected"
    assert decided_columns(decision) == before
