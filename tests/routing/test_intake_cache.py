"""Intake keeps its tokens, rule set and mailbox modes in memory (routing/intake_cache.py), under the
version PostgreSQL's triggers move: whatever changes them counts from the next intake on."""

import json
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from reviewqueue.audit.services import Actor
from reviewqueue.routing.models import IntakeToken, Mailbox
from reviewqueue.routing.rules import Rule
from reviewqueue.routing.services import intake_token_revoke, ruleset_save
from tests.routing.conftest import intake_token, mailbox, rules_saved

URL = "/api/v1/drafts"


def body(n: int) -> dict:
    return {
        "intercom_conversation_id": str(5000 + n),
        "to": [f"customer{n}@bigcorp.com"],
        "subject": f"Your refund {n}",
        "markdown": "Hello, your refund is on its way.",
        "kind": "refund",
    }


def post(client, n, raw):
    return client.post(URL, json.dumps(body(n)), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def routed(db):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_refunds", "refunds@acme.multimail.dev")
    return rules_saved(default="mb_support", rules=[Rule(mailbox_id="mb_refunds", kind="refund")])


def tables_read(queries) -> set[str]:
    return {
        table
        for q in queries
        for table in ("routing_intaketoken", "routing_routingruleset", "routing_mailbox")
        if q["sql"].lstrip().upper().startswith("SELECT") and f'"{table}"' in q["sql"]
    }


def test_a_second_intake_reads_no_token_rule_set_or_mailbox(client, routed, multimail):
    _, raw = intake_token()
    assert post(client, 1, raw).status_code == 202
    with CaptureQueriesContext(connection) as second:
        assert post(client, 2, raw).status_code == 202
    assert tables_read(second.captured_queries) == set()
    assert sum("routing_intake_reads_version" in q["sql"] for q in second.captured_queries) == 1


def test_a_revoked_token_stops_working_at_the_next_intake(client, routed, multimail):
    token, raw = intake_token()
    assert post(client, 1, raw).status_code == 202  # kept in memory now
    intake_token_revoke(token=token, actor=Actor.system("test"))
    assert post(client, 2, raw).status_code == 401
    assert len(multimail.sends) == 1


def test_a_token_revoked_by_another_connection_stops_working_at_once(transactional_db, client, multimail):
    """The revocation commits on its own connection (another process, as far as this one knows)."""
    mailbox("mb_support", "support@acme.multimail.dev")
    rules_saved(default="mb_support")
    token, raw = intake_token()
    assert post(client, 1, raw).status_code == 202

    def revoke_elsewhere():
        try:
            IntakeToken.objects.filter(pk=token.pk).update(revoked_at="2026-01-01T00:00:00Z")
        finally:
            connections["default"].close()

    thread = threading.Thread(target=revoke_elsewhere)
    thread.start()
    thread.join()
    assert post(client, 2, raw).status_code == 401


def test_a_kept_token_still_records_its_last_use(client, routed, multimail):
    token, raw = intake_token()
    assert post(client, 1, raw).status_code == 202
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_rules_saved_route_the_next_draft(client, routed, multimail):
    _, raw = intake_token()
    assert post(client, 1, raw).json()["mailbox_id"] == "mb_refunds"
    ruleset_save(rules=[], default_mailbox_id="mb_support", actor=Actor.system("test"))
    assert post(client, 2, raw).json()["mailbox_id"] == "mb_support"
    assert [send["mailbox_id"] for send in multimail.sends] == ["mb_refunds", "mb_support"]


def test_a_mailbox_loosened_since_the_rules_were_saved_refuses_the_next_draft(client, routed, multimail):
    _, raw = intake_token()
    assert post(client, 1, raw).status_code == 202
    Mailbox.objects.filter(mailbox_id="mb_refunds").update(oversight_mode="monitored")  # as a sync would mirror it
    refused = post(client, 2, raw)
    assert refused.status_code == 409 and "mb_refunds" in refused.json()["error"]
    assert len(multimail.sends) == 1


def test_a_mailbox_tightened_is_read_again(client, routed, multimail):
    """Tightening needs no new rules; the next intake sees the stricter mode (and still sends)."""
    _, raw = intake_token()
    assert post(client, 1, raw).status_code == 202
    Mailbox.objects.filter(mailbox_id="mb_refunds").update(oversight_mode="gated_all")
    with CaptureQueriesContext(connection) as second:
        assert post(client, 2, raw).status_code == 202
    assert "routing_mailbox" in tables_read(second.captured_queries)


def test_a_mailbox_sync_that_changes_nothing_keeps_what_is_kept(client, routed, multimail):
    _, raw = intake_token()
    assert post(client, 1, raw).status_code == 202
    Mailbox.objects.update(synced_at="2026-01-01T00:00:00Z", address="support@acme.multimail.dev")
    with CaptureQueriesContext(connection) as second:
        assert post(client, 2, raw).status_code == 202
    assert tables_read(second.captured_queries) == set()
