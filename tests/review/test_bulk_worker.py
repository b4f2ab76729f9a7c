"""Bulk rejection end to end: the review API decides each draft, a real Celery worker carries each out at the sandbox.

100 drafts held in the MultiMail sandbox; 3 already decided by someone else; a colleague's claims
in the way of a smaller batch. Each done draft must reach MultiMail rejected exactly once.
"""

import json
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from reviewqueue.audit.services import Actor
from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Decision, Draft, OutboxItem
from tests.conftest import make_user
from tests.livesystem import wait_for
from tests.review.live import sandboxes_started
from tests.review.test_api_drafts import api

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandboxes(settings, broker):
    with sandboxes_started(settings) as running:
        yield running


def held_drafts(sandboxes, count: int) -> list[Draft]:
    """Drafts held in the sandbox's gated mailbox, received as the poll would, their content in."""
    drafts = []
    for number in range(count):
        email_id = sandboxes.agent_draft(f"customer{number}@example.com", subject=f"Stale {number}")
        draft, _ = draft_receive(
            email_id=email_id, mailbox_id="mb_sandbox_support", source="poll", actor=Actor.system("t"), fetch=False
        )
        drafts.append(draft)
    # What a fetch fills in; the content is the sandbox's, the decision needs only that it was shown.
    Draft.objects.filter(pk__in=[d.pk for d in drafts]).update(
        subject="Stale", to=["customer@example.com"], content_hash="0" * 64, fetched_at=timezone.now()
    )
    return [Draft.objects.get(pk=d.pk) for d in drafts]


def decisions_taken(sandboxes) -> Counter:
    """MultiMail's own count of decisions per email, from one walk of its audit log."""
    taken, cursor = Counter(), None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = sandboxes.mm.get("/v1/audit-log", params=params, headers=sandboxes.admin_headers).json()
        for entry in page.get("entries", []):
            if entry["action"].startswith("oversight.") and entry["action"] != "oversight.pending":
                taken[entry["resource_id"]] += 1
        cursor = page.get("cursor")
        if not cursor:
            return taken


def all_carried_out() -> bool:
    return not OutboxItem.objects.exclude(status="done").exists()


def bulk_reject(user, ids, reason="stale: the customer was answered by phone"):
    body = json.dumps({"ids": ids, "action": "reject", "reason": reason})
    return api(user).post("/api/v1/drafts/bulk-decision", data=body, content_type="application/json")


def test_bulk_rejection_of_100_drafts_with_3_decided_by_others_is_carried_out_once_each(
    sandboxes, reviewer, django_user_model
):
    rosa = make_user(django_user_model, "rosa", "reviewer")
    drafts = held_drafts(sandboxes, 100)
    decided_by_rosa = [drafts[5], drafts[50], drafts[99]]
    for draft in decided_by_rosa:
        draft_decide(draft=draft, reviewer=rosa, action="reject", reason="rosa's own call", origin="web")
    sandboxes.worker(connection.settings_dict, settings.REDIS_URL)

    response = bulk_reject(reviewer, [d.pk for d in drafts])

    body = response.json()
    assert response.status_code == 200
    assert (body["done"], body["not_done"]) == (97, 3)
    refused = {r["id"]: r for r in body["results"] if r["status"] != "done"}
    assert set(refused) == {d.pk for d in decided_by_rosa}
    assert all(r["status"] == "already_decided" and "by rosa" in r["error"] for r in refused.values())
    wait_for(all_carried_out, timeout=120, what="the worker carried out all 100 decisions")
    taken = decisions_taken(sandboxes)
    assert [taken[d.email_id] for d in drafts] == [1] * 100
    statuses = Counter(sandboxes.email(d.email_id)["status"] for d in drafts[:10])
    assert statuses == {"rejected": 10}
    reasons = Counter(Decision.objects.values_list("reviewer__username", "reason"))
    assert reasons == {("rita", "stale: the customer was answered by phone"): 97, ("rosa", "rosa's own call"): 3}


def test_bulk_rejection_leaves_a_colleagues_claims_alone_and_decides_through_ones_own(
    sandboxes, reviewer, django_user_model
):
    rosa = make_user(django_user_model, "rosa", "reviewer")
    drafts = held_drafts(sandboxes, 6)
    draft_claim(draft=drafts[1], reviewer=rosa)
    draft_claim(draft=drafts[2], reviewer=rosa)
    draft_claim(draft=drafts[3], reviewer=reviewer)
    sandboxes.worker(connection.settings_dict, settings.REDIS_URL)

    body = bulk_reject(reviewer, [d.pk for d in drafts]).json()

    statuses = {r["id"]: r["status"] for r in body["results"]}
    assert statuses == {
        drafts[0].pk: "done",
        drafts[1].pk: "claimed",
        drafts[2].pk: "claimed",
        drafts[3].pk: "done",
        drafts[4].pk: "done",
        drafts[5].pk: "done",
    }
    claimed = [r for r in body["results"] if r["status"] == "claimed"]
    assert {r["claimed_by"]["username"] for r in claimed} == {"rosa"}
    wait_for(all_carried_out, timeout=60, what="the worker carried out the four decisions")
    taken = decisions_taken(sandboxes)
    assert [taken[d.email_id] for d in drafts] == [1, 0, 0, 1, 1, 1]
