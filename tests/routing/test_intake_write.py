"""An intake completes in one round trip after its send (routing/intake_write.py), and writes what
review's and audit's writers would: the draft, its `draft.received` and `intake.accepted` events in an
intact chain, the record."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.audit.verify import verify_chain
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import IntakeRecord
from tests.routing.conftest import intake_token
from tests.routing.test_intake_submit import GOOD, post, routed  # noqa: F401 (the fixture)


def test_an_intake_writes_its_draft_its_two_events_and_its_record(client, routed, multimail):  # noqa: F811
    token, raw = intake_token()
    answer = post(client, GOOD, raw).json()
    draft = Draft.objects.get(pk=answer["id"])
    record = IntakeRecord.objects.get()
    received, accepted = AuditEvent.objects.filter(target_type="draft").order_by("seq")
    assert (received.action, received.target_id) == ("draft.received", str(draft.pk))
    assert (accepted.action, accepted.target_id) == ("intake.accepted", str(draft.pk))
    assert received.payload == {
        "email_id": draft.email_id,
        "mailbox_id": "mb_refunds",
        "source": "intake",
        "conversation_id": "215467",
        "routing_version_id": 2,
    }
    assert accepted.payload["intake_record_id"] == record.pk and accepted.payload["email_id"] == draft.email_id
    assert (received.actor_type, received.actor_id, received.actor_label) == ("token", str(token.pk), token.name)
    assert accepted.seq == received.seq + 1 and accepted.prev_hash == received.hash
    assert accepted.created_at >= received.created_at
    assert (record.draft_id, record.email_id) == (draft.pk, draft.email_id) and record.completed_at is not None
    assert (draft.source, draft.conversation_link, draft.routing_version_number) == ("intake", "intake", 2)
    assert verify_chain().intact


def test_the_events_hash_as_audit_writes_them_whatever_the_text_and_origin(client, routed, multimail):  # noqa: F811
    raw = intake_token()[1]
    audit_record(actor=Actor.system("before"), action="test.before", payload={"x": "ü"})
    body = {**GOOD, "subject": 'Ihre Rückerstattung "sofort" \\ 💸', "cc": ["chef@bigcorp.com"]}
    response = client.post(
        "/api/v1/drafts",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}", "User-Agent": 'Fin/1.0 "ü"'},
        REMOTE_ADDR="2001:db8::1",
    )
    assert response.status_code == 202
    audit_record(actor=Actor.system("after"), action="test.after")
    accepted = AuditEvent.objects.get(action="intake.accepted")
    assert accepted.payload["subject"] == body["subject"] and accepted.user_agent == 'Fin/1.0 "ü"'
    result = verify_chain()
    assert result.intact, result.summary()


def test_one_intake_is_four_statements_and_its_transaction(client, routed, multimail):  # noqa: F811
    raw = intake_token()[1]
    post(client, GOOD, raw)  # the token is read and kept
    with CaptureQueriesContext(connection) as queries:
        response = post(client, {**GOOD, "subject": "Another"}, raw)
    assert response.status_code == 202
    # (inside the test's transaction _submit's atomic block is a savepoint: BEGIN and COMMIT elsewhere)
    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    # the reads' version, the conversation's team and tags, the claim, then the draft, events and record
    assert len(statements) == 4, statements
    assert Draft.objects.count() == 2 and verify_chain().intact


def test_an_email_with_a_draft_already_is_written_as_before(client, routed, multimail):  # noqa: F811
    from reviewqueue.review.ingest import draft_receive

    raw = intake_token()[1]
    multimail.ids = iter(range(700, 800))
    draft_receive(email_id="em_700", mailbox_id="mb_refunds", source="poll", actor=Actor.system("t"), fetch=False)
    answer = post(client, GOOD, raw).json()
    draft = Draft.objects.get()
    assert answer["id"] == draft.pk and draft.conversation_link == "intake"
    actions = list(AuditEvent.objects.filter(target_type="draft").order_by("seq").values_list("action", flat=True))
    assert actions == ["draft.received", "intake.accepted"]  # the poll's receipt, then only this intake's
    assert IntakeRecord.objects.get().draft_id == draft.pk and verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_keep_one_chain(routed, multimail):  # noqa: F811
    raw = intake_token()[1]
    barrier, answers = threading.Barrier(8), []

    def submit(i):
        try:
            barrier.wait()
            answers.append(post(Client(), {**GOOD, "subject": f"Refund {i}"}, raw).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202] * 8
    assert Draft.objects.count() == 8 and AuditEvent.objects.filter(target_type="draft").count() == 16
    result = verify_chain()
    assert result.intact, result.summary()


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_postgresql_ended_is_replaced_by_the_next_intake(routed, multimail):  # noqa: F811
    import psycopg
    from django.db import close_old_connections

    raw, client = intake_token()[1], Client()
    assert post(client, GOOD, raw).status_code == 202
    ended = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [ended])
    close_old_connections()  # what a new request starts with (the test client leaves it out)
    assert post(client, {**GOOD, "subject": "After the restart"}, raw).status_code == 202
    assert connection.connection.info.backend_pid != ended
    assert Draft.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_intakes_first_statement_checks_the_kept_connection_instead_of_a_select_1(
    routed,  # noqa: F811
    multimail,
    monkeypatch,
):
    from django.db import close_old_connections

    raw, client = intake_token()[1], Client()
    assert post(client, GOOD, raw).status_code == 202
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    close_old_connections()
    assert post(client, {**GOOD, "subject": "Checked by its first statement"}, raw).status_code == 202
    assert checks == [] and connection.health_check_done
