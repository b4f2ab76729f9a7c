"""POST /api/v1/drafts/bulk-decision: each draft its own decision, answered per id."""

import json

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Decision, OutboxItem
from tests.conftest import make_user
from tests.review.conftest import received_draft
from tests.review.test_api_drafts import api
from tests.routing.test_openapi import conforms

pytestmark = pytest.mark.django_db

URL = "/api/v1/drafts/bulk-decision"


def post_bulk(client, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json")


def drafts(count: int, prefix: str = "em") -> list:
    return [received_draft(f"{prefix}_{i}") for i in range(count)]


def test_a_bulk_rejection_decides_each_draft_with_its_own_decision_outbox_and_audit_event(broker, reviewer):
    batch = drafts(3)
    response = post_bulk(api(reviewer), {"ids": [d.pk for d in batch], "action": "reject", "reason": "stale"})
    body = conforms(response, "POST", URL)
    assert response.status_code == 200
    assert (body["done"], body["not_done"]) == (3, 0)
    assert [r["status"] for r in body["results"]] == ["done"] * 3
    decisions = Decision.objects.filter(draft__in=batch)
    expected = {("reject", "stale", "api", reviewer.pk)}
    assert {(d.action, d.reason, d.origin, d.reviewer_id) for d in decisions} == expected
    assert decisions.count() == 3
    assert OutboxItem.objects.filter(draft__in=batch, kind="decide").count() == 3
    decided = AuditEvent.objects.filter(action="draft.decided", target_id__in=[str(d.pk) for d in batch])
    assert decided.count() == 3


def test_drafts_already_decided_or_claimed_by_someone_else_are_named_and_the_rest_are_done(
    broker, reviewer, django_user_model
):
    rosa = make_user(django_user_model, "rosa", "reviewer")
    batch = drafts(5)
    draft_decide(draft=batch[1], reviewer=rosa, action="reject", reason="mine", origin="web")
    draft_claim(draft=batch[3], reviewer=rosa)
    response = post_bulk(api(reviewer), {"ids": [d.pk for d in batch], "action": "reject", "reason": "stale"})
    body = conforms(response, "POST", URL)
    by_id = {r["id"]: r for r in body["results"]}
    assert (body["done"], body["not_done"]) == (3, 2)
    assert by_id[batch[1].pk]["status"] == "already_decided"
    assert "rejected by rosa" in by_id[batch[1].pk]["error"]
    assert by_id[batch[1].pk]["decision"]["reviewer"]["username"] == "rosa"
    assert by_id[batch[3].pk]["status"] == "claimed"
    assert by_id[batch[3].pk]["claimed_by"]["username"] == "rosa"
    assert Decision.objects.get(draft=batch[1]).reason == "mine"
    assert not Decision.objects.filter(draft=batch[3]).exists()


def test_more_than_100_ids_is_a_400_that_says_so_and_decides_nothing(broker, reviewer):
    batch = drafts(101)
    response = post_bulk(api(reviewer), {"ids": [d.pk for d in batch], "action": "reject", "reason": "stale"})
    body = conforms(response, "POST", URL)
    assert response.status_code == 400
    assert "at most 100 ids" in body["error"] and "101" in body["error"]
    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "action": "reject", "reason": "x"}, "ids"),
        ({"ids": [1, "2"], "action": "reject", "reason": "x"}, "ids"),
        ({"ids": [1, True], "action": "reject", "reason": "x"}, "ids"),
        ({"ids": [1], "action": "reject", "reason": "  "}, "reason"),
        ({"ids": [1], "action": "shred", "reason": "x"}, "action"),
        ({"ids": [1], "action": "approve", "snapshot_ids": {"one": 2}}, "snapshot_ids"),
    ],
)
def test_a_bad_bulk_body_is_a_400_naming_the_field(broker, reviewer, body, field):
    response = post_bulk(api(reviewer), body)
    assert response.status_code == 400
    assert field in conforms(response, "POST", URL)["fields"]


def test_a_body_that_is_not_json_is_a_400(broker, reviewer):
    assert post_bulk(api(reviewer), "ids=1").status_code == 400


def test_bulk_decisions_need_a_reviewers_token(broker, outsider):
    assert post_bulk(api(), {"ids": [1], "action": "reject", "reason": "x"}).status_code == 401
    assert post_bulk(api(outsider), {"ids": [1], "action": "reject", "reason": "x"}).status_code == 403


def test_an_unknown_id_is_reported_and_repeats_are_decided_once(broker, reviewer):
    [draft] = drafts(1)
    response = post_bulk(api(reviewer), {"ids": [draft.pk, 999999, draft.pk], "action": "reject", "reason": "x"})
    body = conforms(response, "POST", URL)
    assert [(r["id"], r["status"]) for r in body["results"]] == [(draft.pk, "done"), (999999, "not_found")]


def test_bulk_approval_skips_flagged_drafts_and_approves_on_the_snapshot_sent(broker, reviewer):
    clean = received_draft("em_clean")
    flagged = received_draft("em_flagged", flag_spam=True)
    unseen = received_draft("em_unseen", latest_snapshot_id=7)
    response = post_bulk(
        api(reviewer), {"ids": [clean.pk, flagged.pk, unseen.pk], "action": "approve", "snapshot_ids": {}}
    )
    body = conforms(response, "POST", URL)
    statuses = {r["id"]: r["status"] for r in body["results"]}
    assert statuses == {clean.pk: "done", flagged.pk: "flagged", unseen.pk: "context_changed"}
    assert list(Decision.objects.values_list("draft_id", "action")) == [(clean.pk, "approve")]


def test_a_bulk_approval_in_a_four_eyes_mailbox_records_first_approvals_and_refuses_the_same_approver(broker, reviewer):
    from reviewqueue.sla.models import MailboxPolicy

    MailboxPolicy.objects.create(mailbox_id="mbx_strict", approvals_required=2)
    strict = received_draft("em_strict", mailbox_id="mbx_strict")
    body = {"ids": [strict.pk], "action": "approve"}
    first = conforms(post_bulk(api(reviewer), body), "POST", URL)
    assert [r["status"] for r in first["results"]] == ["awaiting_second_approval"]
    again = conforms(post_bulk(api(reviewer), body), "POST", URL)
    assert [r["status"] for r in again["results"]] == ["same_approver"]
    assert not Decision.objects.exists()
