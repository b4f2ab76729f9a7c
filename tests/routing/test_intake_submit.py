"""A good draft is routed, sent to MultiMail once, tagged, recorded and queued for review."""

import itertools
import json
import threading
from datetime import UTC

import pytest
from django.db import connection

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Draft
from reviewqueue.routing.followups import FOLLOWUPS_PENDING, intake_followup, intake_followups
from reviewqueue.routing.models import IntakeRecord
from reviewqueue.routing.rules import Rule
from reviewqueue.routing.services import intake_token_revoke
from tests.routing.conftest import intake_token, mailbox, rules_saved

URL = "/api/v1/drafts"
GOOD = {
    "intercom_conversation_id": "215467",
    "to": ["customer@bigcorp.com"],
    "cc": ["boss@bigcorp.com"],
    "subject": "Your refund",
    "markdown": "Hello, your refund is on its way.",
    "kind": "refund",
}


def pending_followups(broker) -> list[str]:
    """Follow-ups pushed for the next batch, oldest first ("<record id>:<refresh 0/1>")."""
    return [item.decode() for item in broker.redis.lrange(FOLLOWUPS_PENDING, 0, -1)]


def post(client, body, token):
    return client.post(
        URL, json.dumps(body), content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture
def routed(db):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_refunds", "refunds@acme.multimail.dev")
    rules_saved(default="mb_support")  # version 1; version 2 below is the active one
    return rules_saved(default="mb_support", rules=[Rule(mailbox_id="mb_refunds", kind="refund")])


def test_a_good_draft_is_sent_to_the_routed_mailbox_and_queued(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    token, raw = intake_token()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, GOOD, raw)
    assert response.status_code == 202
    answer = response.json()
    draft = Draft.objects.get(pk=answer["id"])
    assert answer == {"id": draft.pk, "status": draft.status, "email_id": draft.email_id, "mailbox_id": "mb_refunds"}
    (send,) = multimail.sends
    assert send["mailbox_id"] == "mb_refunds"
    assert send["to"] == GOOD["to"] and send["cc"] == GOOD["cc"] and send["subject"] == GOOD["subject"]
    assert send["idempotency_key"].startswith("rq-intake-")
    assert multimail.count("PUT", "/tags") == 0  # tagging is left to the follow-up task
    assert draft.conversation_id == "215467" and draft.conversation_link == "intake"
    assert draft.source == "intake" and draft.routing_version_number == routed.version
    record = IntakeRecord.objects.get()
    assert (record.token, record.email_id, record.draft_id, record.routing_version) == (
        token,
        draft.email_id,
        draft.pk,
        routed,
    )
    assert record.facts["recipient_domains"] == ["bigcorp.com"] and record.completed_at is not None
    received, accepted = AuditEvent.objects.filter(target_type="draft", target_id=str(draft.pk)).order_by("seq")
    assert (received.action, accepted.action) == ("draft.received", "intake.accepted")
    assert {(e.actor_type, e.actor_id) for e in (received, accepted)} == {("token", str(token.pk))}
    assert received.payload["source"] == "intake" and accepted.payload["email_id"] == draft.email_id
    assert broker.queued() == [("routing.intake_followups", [])]
    assert pending_followups(broker) == [f"{record.pk}:0"]


def test_the_follow_up_tags_the_email_with_its_conversation_then_queues_the_fetch(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        draft_id = post(client, GOOD, intake_token()[1]).json()["id"]
    record = IntakeRecord.objects.get()
    multimail.emails[record.email_id]["tags"] = {"reviewer": "rita"}  # a tag someone else put on first
    intake_followup(record_id=record.pk)
    assert multimail.emails[record.email_id]["tags"] == {"reviewer": "rita", "intercom_conversation_id": "215467"}
    assert broker.queued()[1:] == [("review.draft_fetch", [draft_id, False])]


def test_intakes_share_one_follow_up_task_until_it_starts(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    raw = intake_token()[1]
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, GOOD, raw).json()["id"]
        second = post(client, {**GOOD, "intercom_conversation_id": "215468"}, raw).json()["id"]
    assert broker.queued() == [("routing.intake_followups", [])] and len(pending_followups(broker)) == 2
    assert intake_followups() == 2
    tags = [email["tags"] for email in multimail.emails.values()]
    assert tags == [{"intercom_conversation_id": "215467"}, {"intercom_conversation_id": "215468"}]
    assert broker.queued()[1:] == [("review.draft_fetches", [[[first, False], [second, False]]])]
    assert pending_followups(broker) == []
    with django_capture_on_commit_callbacks(execute=True):  # the batch has started: the next intake queues another
        third = post(client, {**GOOD, "intercom_conversation_id": "215469"}, raw).json()["id"]
    assert broker.names()[2:] == ["routing.intake_followups"]
    assert intake_followups() == 1 and broker.queued()[3:] == [("review.draft_fetches", [[[third, False]]])]


def test_a_batch_sends_its_fetches_together_once_its_records_are_tagged(
    client, routed, multimail, broker, django_capture_on_commit_callbacks, monkeypatch
):
    """One message for a batch's fetches (review's draft_fetches), not a message each."""
    from reviewqueue.routing import followups

    raw = intake_token()[1]
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, GOOD, raw).json()["id"]
        second = post(client, {**GOOD, "intercom_conversation_id": "215468"}, raw).json()["id"]
    queued_before_each, tag = [], followups._tag

    def watched(record):
        queued_before_each.append(len(broker.queued()))
        tag(record)

    monkeypatch.setattr(followups, "_tag", watched)
    assert intake_followups() == 2
    assert queued_before_each == [1, 1]  # the batch task's own message only: no fetch left between the tags
    assert broker.queued()[1:] == [("review.draft_fetches", [[[first, False], [second, False]]])]


def test_a_failed_tag_still_queues_the_fetch(client, routed, multimail, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        draft_id = post(client, GOOD, intake_token()[1]).json()["id"]
    multimail.fail[("PUT", "/v1/mailboxes/")] = (500, {"error": "boom"})
    record = IntakeRecord.objects.get()
    intake_followup(record_id=record.pk)
    assert multimail.count("PUT", "/tags") >= 1 and multimail.emails[record.email_id]["tags"] == {}
    assert broker.queued()[1:] == [("review.draft_fetch", [draft_id, False])]


def test_an_email_the_poll_saw_first_is_refetched_after_intake(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    from reviewqueue.review.ingest import draft_receive

    raw = intake_token()[1]
    multimail.ids = itertools.count(500)  # the fake answers the next send with em_500
    draft_receive(email_id="em_500", mailbox_id="mb_refunds", source="poll", actor=Actor.system("t"), fetch=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, GOOD, raw)
    assert response.json()["id"] == Draft.objects.get().pk
    assert broker.queued() == [("routing.intake_followups", [])]
    assert pending_followups(broker) == [f"{IntakeRecord.objects.get().pk}:1"]


def test_a_draft_no_rule_matches_goes_to_the_default_mailbox(client, routed, multimail):
    response = post(client, {**GOOD, "kind": "question"}, intake_token(kinds=("refund", "question"))[1])
    assert response.json()["mailbox_id"] == "mb_support"


def test_the_same_request_twice_gives_the_same_draft_and_one_send(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    raw = intake_token()[1]
    with django_capture_on_commit_callbacks(execute=True):
        first, second = post(client, GOOD, raw), post(client, GOOD, raw)
    assert first.status_code == 202 and second.status_code == 200
    assert first.json() == second.json()
    assert len(multimail.sends) == 1
    assert broker.names() == ["routing.intake_followups"] and len(pending_followups(broker)) == 1
    assert Draft.objects.count() == 1 and IntakeRecord.objects.count() == 1
    actions = list(AuditEvent.objects.filter(target_type="draft").values_list("action", flat=True))
    assert sorted(actions) == ["draft.received", "intake.accepted"]  # the retry audits nothing new


def test_a_different_request_is_a_different_draft(client, routed, multimail):
    raw = intake_token()[1]
    first = post(client, GOOD, raw).json()
    second = post(client, {**GOOD, "subject": "Your refund, corrected"}, raw).json()
    assert first["id"] != second["id"]
    assert len(multimail.sends) == 2


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_retries_make_one_draft_and_one_send(routed, multimail, broker):
    from django.test import Client

    raw = intake_token()[1]
    answers, errors = [], []
    barrier = threading.Barrier(10)

    def retry():
        try:
            barrier.wait()
            response = post(Client(), GOOD, raw)
            answers.append((response.status_code, response.json()))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(answers) == 10
    assert {status for status, _ in answers} <= {200, 202}
    assert sum(status == 202 for status, _ in answers) == 1
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    assert multimail.count("POST", "/send") == 1
    assert Draft.objects.count() == 1 and IntakeRecord.objects.count() == 1
    assert broker.queued() == [("routing.intake_followups", [])]
    assert pending_followups(broker) == [f"{IntakeRecord.objects.get().pk}:0"]


def test_a_revoked_token_is_refused(client, routed, multimail):
    token, raw = intake_token()
    intake_token_revoke(token=token, actor=Actor.system("test"))
    response = post(client, GOOD, raw)
    assert response.status_code == 401
    assert multimail.sends == []


def test_using_a_token_records_when_it_was_last_used(client, routed, multimail):
    token, raw = intake_token()
    post(client, GOOD, raw)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_without_routing_rules_intake_answers_503_and_sends_nothing(client, db, multimail):
    response = post(client, GOOD, intake_token()[1])
    assert response.status_code == 503
    assert "/manage/routing/" in response.json()["error"]
    assert multimail.sends == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, 422), (401, 502), (403, 502), (404, 502), (409, 409), (500, 503)],
)
def test_multimail_refusals_become_clear_json_errors(client, routed, multimail, status, expected):
    multimail.fail[("POST", "/v1/mailboxes/")] = (status, {"error": "MultiMail says no"})
    response = post(client, GOOD, intake_token()[1])
    assert response.status_code == expected
    assert response.json()["error"]
    assert Draft.objects.count() == 0


def test_a_rate_limited_send_answers_429_with_retry_after(client, routed, multimail, settings):
    multimail.fail[("POST", "/v1/mailboxes/")] = (429, {"error": "slow down"})
    response = post(client, GOOD, intake_token()[1])
    assert response.status_code == 429


def test_a_failed_send_can_be_retried_and_then_succeeds(client, routed, multimail):
    raw = intake_token()[1]
    multimail.fail[("POST", "/v1/mailboxes/")] = (500, {"error": "boom"})
    assert post(client, GOOD, raw).status_code == 503
    multimail.fail.clear()
    response = post(client, GOOD, raw)
    assert response.status_code == 202
    assert Draft.objects.count() == 1


def test_without_a_send_key_intake_names_the_variable(client, routed, multimail, monkeypatch):

    client_without_send = multimail.client(send_api_key="")
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client_without_send)
    response = post(client, GOOD, intake_token()[1])
    assert response.status_code == 503
    assert "MULTIMAIL_SEND_API_KEY" in response.json()["error"]


@pytest.fixture
def intercom(monkeypatch):
    """The Intercom sandbox in-process; every get_intercom_client() talks to it."""
    import httpx

    from reviewqueue.integrations.intercom.client import IntercomClient
    from reviewqueue.sandbox.intercom import defaults
    from reviewqueue.sandbox.intercom.app import make_app

    app = make_app()
    monkeypatch.setattr(
        "reviewqueue.integrations.intercom.client.get_intercom_client",
        lambda **_: IntercomClient(
            base_url="http://intercom.sandbox",
            access_token=defaults.ACCESS_TOKEN,
            transport=httpx.WSGITransport(app=app),
        ),
    )
    return app.state, defaults.ADMIN_ID


def test_a_tag_rule_fetches_the_conversation_when_no_snapshot_exists(client, db, multimail, intercom):
    from reviewqueue.integrations.intercom.services import snapshot_latest

    state, admin_id = intercom
    contact = state.contact_create(email="vip@bigcorp.com")
    conversation, _ = state.conversation_create(contact_id=contact["id"], body="Where is my refund?")
    tag = state.tag_ensure("VIP")
    state.tag_conversation(conversation["id"], {"id": tag["id"], "admin_id": admin_id})
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_vip", "vip@acme.multimail.dev")
    rules_saved(default="mb_support", rules=[Rule(mailbox_id="mb_vip", conversation_tag="vip")])
    response = post(client, {**GOOD, "intercom_conversation_id": conversation["id"]}, intake_token()[1])
    assert response.status_code == 202
    assert response.json()["mailbox_id"] == "mb_vip"
    assert snapshot_latest(conversation["id"]) is not None
    assert IntakeRecord.objects.get().facts["conversation_tags"] == ["vip"]


def test_a_stored_snapshot_routes_with_its_team_and_tags_as_the_parsed_conversation_has_them(
    client, db, multimail, intercom
):
    """Intake reads only the team and the tag names of the latest snapshot (no fetch, no parse of its parts)."""
    from reviewqueue.integrations.intercom.models import ConversationSnapshot
    from reviewqueue.integrations.intercom.services import snapshot_latest, snapshot_refresh

    state, admin_id = intercom
    contact = state.contact_create(email="vip@bigcorp.com")
    conversation, _ = state.conversation_create(contact_id=contact["id"], body="Where is my refund?")
    state.data["conversations"][conversation["id"]]["team_assignee_id"] = "5150"
    for name in ("VIP", "Refund"):
        state.tag_conversation(conversation["id"], {"id": state.tag_ensure(name)["id"], "admin_id": admin_id})
    snapshot_refresh(conversation_id=conversation["id"])
    state.data["conversations"][conversation["id"]]["tags"]["tags"] = []  # a fetch now would find no tags
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_vip", "vip@acme.multimail.dev")
    rules_saved(default="mb_support", rules=[Rule(mailbox_id="mb_vip", intercom_team="5150", conversation_tag="vip")])
    response = post(client, {**GOOD, "intercom_conversation_id": conversation["id"]}, intake_token()[1])
    facts = IntakeRecord.objects.get().facts
    assert response.json()["mailbox_id"] == "mb_vip"
    parsed = snapshot_latest(conversation["id"]).conversation
    assert facts["intercom_team"] == str(parsed.team_assignee_id) == "5150"
    assert sorted(facts["conversation_tags"]) == sorted(tag.name.lower() for tag in parsed.tags) == ["refund", "vip"]
    assert ConversationSnapshot.objects.count() == 1


def test_intercom_failing_routes_without_the_conversation(client, db, multimail, intercom):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_vip", "vip@acme.multimail.dev")
    rules_saved(default="mb_support", rules=[Rule(mailbox_id="mb_vip", conversation_tag="vip")])
    response = post(client, {**GOOD, "intercom_conversation_id": "404404"}, intake_token()[1])
    assert response.status_code == 202
    assert response.json()["mailbox_id"] == "mb_support"


@pytest.mark.parametrize("seen_before", ["fetched", "polled"])
def test_the_batch_keeps_the_tags_of_an_email_seen_before(
    seen_before, client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    """A draft fetched already (so perhaps decided and tagged by the outbox), or one the poll saw first:
    its email's other tags are read and kept."""
    from django.utils import timezone

    from reviewqueue.review.ingest import draft_receive

    raw = intake_token()[1]
    if seen_before == "polled":
        multimail.ids = itertools.count(500)
        draft_receive(email_id="em_500", mailbox_id="mb_refunds", source="poll", actor=Actor.system("t"), fetch=False)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, GOOD, raw)
    record = IntakeRecord.objects.get()
    if seen_before == "fetched":
        Draft.objects.filter(pk=record.draft_id).update(fetched_at=timezone.now())
    multimail.emails[record.email_id]["tags"] = {"decision": "approved"}
    assert intake_followups() == 1
    assert multimail.emails[record.email_id]["tags"] == {"decision": "approved", "intercom_conversation_id": "215467"}
    assert multimail.count("GET", record.email_id) == 1


def test_the_batch_task_waits_a_moment_to_gather_the_intakes_that_follow(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    from datetime import datetime, timedelta

    from reviewqueue.routing.followups import FOLLOWUPS_DELAY

    before = datetime.now(UTC)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, GOOD, intake_token()[1])
    (raw,) = broker.redis.lrange("celery", 0, -1)
    eta = datetime.fromisoformat(json.loads(raw)["headers"]["eta"])
    assert before + timedelta(seconds=FOLLOWUPS_DELAY) <= eta <= datetime.now(UTC) + timedelta(seconds=FOLLOWUPS_DELAY)
