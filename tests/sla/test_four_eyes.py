"""Four-eyes on real PostgreSQL: the first approval is recorded, the second by someone else decides once."""

import threading

import pytest
from django.db import connection

from reviewqueue.accounts.roles import role_group
from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import DraftAlreadyDecided
from reviewqueue.review.models import Decision, OutboxItem
from reviewqueue.review.outbox import outbox_run
from reviewqueue.sla.errors import AwaitingSecondApproval, FirstApprovalWithEdit, SameApproverTwice
from reviewqueue.sla.models import FirstApproval, MailboxPolicy
from tests.conftest import make_user
from tests.review.conftest import received_draft
from tests.review.test_api_drafts import api, post_decision
from tests.routing.test_openapi import conforms

pytestmark = pytest.mark.django_db


@pytest.fixture
def four_eyes_draft(db):
    MailboxPolicy.objects.create(mailbox_id="mbx_1", approvals_required=2)
    return received_draft(conversation_id="123")


@pytest.fixture
def vera(django_user_model):
    return make_user(django_user_model, "vera", "reviewer")


def approve(draft, who, origin="web"):
    return draft_decide(draft=draft, reviewer=who, action="approve", reason="", origin=origin)


def test_the_first_approval_is_recorded_and_nothing_is_sent(broker, four_eyes_draft, reviewer):
    with pytest.raises(AwaitingSecondApproval) as awaiting:
        approve(four_eyes_draft, reviewer)
    assert "first approval by rita" in str(awaiting.value)
    four_eyes_draft.refresh_from_db()
    assert four_eyes_draft.status == "pending"
    assert not Decision.objects.exists() and not OutboxItem.objects.exists()
    assert "review.outbox_run" not in broker.names()
    assert FirstApproval.objects.get().approver == reviewer
    assert AuditEvent.objects.filter(action="draft.first_approval", target_id=str(four_eyes_draft.pk)).count() == 1


def test_the_same_person_approving_twice_is_refused_naming_the_rule(broker, four_eyes_draft, reviewer):
    with pytest.raises(AwaitingSecondApproval):
        approve(four_eyes_draft, reviewer)
    with pytest.raises(SameApproverTwice) as refused:
        approve(four_eyes_draft, reviewer)
    assert "two different people" in str(refused.value)
    assert not Decision.objects.exists()


def test_the_second_approval_by_someone_else_decides_naming_both(broker, four_eyes_draft, reviewer, vera, multimail):
    multimail.add_email(four_eyes_draft.email_id)
    with pytest.raises(AwaitingSecondApproval):
        approve(four_eyes_draft, reviewer)
    decision = approve(four_eyes_draft, vera)
    assert decision.reviewer == vera and "first approval by rita <rita@example.com>" in decision.reason
    decide = OutboxItem.objects.get(decision=decision, kind="decide")
    assert "approved by vera" in decide.payload["reason"] and "first approval by rita" in decide.payload["reason"]
    note = OutboxItem.objects.get(decision=decision, kind="intercom_note")
    assert "approved by vera" in note.payload["body_html"] and "first approval by rita" in note.payload["body_html"]
    outbox_run(item_id=decide.pk, multimail=multimail.client())
    assert multimail.calls["decide"] == 1


def test_one_rejection_by_anyone_ends_it(broker, four_eyes_draft, reviewer, vera):
    with pytest.raises(AwaitingSecondApproval):
        approve(four_eyes_draft, reviewer)
    decision = draft_decide(draft=four_eyes_draft, reviewer=vera, action="reject", reason="Wrong tone", origin="web")
    assert decision.action == "reject"
    with pytest.raises(DraftAlreadyDecided):
        approve(four_eyes_draft, vera)


def test_a_one_approval_mailbox_decides_at_once(broker, reviewer):
    draft = received_draft()
    assert approve(draft, reviewer).action == "approve"


def test_the_api_answers_the_first_approval_202_and_the_repeat_409(broker, four_eyes_draft, reviewer, vera):
    client = api(reviewer)
    path = "/api/v1/drafts/{id}/decision"
    first = post_decision(client, four_eyes_draft.pk, {"action": "approve", "snapshot_id": None})
    assert first.status_code == 202, first.content
    body = conforms(first, "POST", path)  # the OpenAPI document describes it
    assert body["status"] == "awaiting_second_approval"
    assert body["first_approval"]["approver"]["username"] == "rita"
    again = post_decision(client, four_eyes_draft.pk, {"action": "approve"})
    assert again.status_code == 409 and conforms(again, "POST", path)["conflict"] == "same_approver"
    assert "two different people" in again.json()["error"]
    second = post_decision(api(vera), four_eyes_draft.pk, {"action": "approve"})
    assert second.status_code == 201
    assert "first approval by rita" in second.json()["decision"]["reason"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_second_approvers_make_one_decision_and_one_decide_call(broker, django_user_model, multimail):
    MailboxPolicy.objects.create(mailbox_id="mbx_1", approvals_required=2)
    draft = received_draft()
    multimail.add_email(draft.email_id)
    first, *seconds = [django_user_model.objects.create(username=f"rev{n}", email=f"r{n}@x.test") for n in range(9)]
    role_group("reviewer").user_set.add(first, *seconds)
    with pytest.raises(AwaitingSecondApproval):
        approve(draft, first)
    start = threading.Barrier(len(seconds))
    outcomes = []

    def second_approval(reviewer):
        start.wait()
        try:
            approve(draft, reviewer, origin="api")
            outcomes.append("won")
        except DraftAlreadyDecided:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=second_approval, args=(r,)) for r in seconds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1 and outcomes.count("lost") == len(seconds) - 1
    decision = Decision.objects.get()
    assert "first approval by rev0" in decision.reason
    for item in OutboxItem.objects.filter(kind="decide"):
        outbox_run(item_id=item.pk, multimail=multimail.client())
    assert multimail.calls["decide"] == 1


def test_an_edit_by_the_first_approver_then_approved_by_them_is_refused_naming_the_rule(
    broker, four_eyes_draft, reviewer
):
    with pytest.raises(AwaitingSecondApproval):
        approve(four_eyes_draft, reviewer)
    with pytest.raises(SameApproverTwice, match="two different people"):
        draft_decide(
            draft=four_eyes_draft, reviewer=reviewer, action="approve", reason="", origin="web", edit={"markdown": "Hi"}
        )
    assert not Decision.objects.exists()


def test_an_edit_counts_as_the_second_approval_but_not_as_the_first(broker, four_eyes_draft, reviewer, vera):
    with pytest.raises(FirstApprovalWithEdit, match="four-eyes"):
        draft_decide(
            draft=four_eyes_draft, reviewer=vera, action="approve", reason="", origin="web", edit={"markdown": "Hi"}
        )
    assert not FirstApproval.objects.exists()
    with pytest.raises(AwaitingSecondApproval):
        approve(four_eyes_draft, reviewer)
    decision = draft_decide(
        draft=four_eyes_draft, reviewer=vera, action="approve", reason="", origin="web", edit={"markdown": "Hi"}
    )
    assert decision.reviewer == vera and "first approval by rita" in decision.reason


def test_a_policy_relaxed_to_one_approval_lets_the_first_approver_decide(broker, four_eyes_draft, reviewer):
    with pytest.raises(AwaitingSecondApproval):
        approve(four_eyes_draft, reviewer)
    MailboxPolicy.objects.filter(mailbox_id="mbx_1").update(approvals_required=1)
    assert approve(four_eyes_draft, reviewer).reviewer == reviewer
