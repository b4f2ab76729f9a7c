"""The queue page's bulk actions (POST /queue/bulk): reject with one reason, claim, release, approve."""

import pytest
from django.contrib.messages import get_messages

from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Claim, Decision
from tests.conftest import logged_in_client, make_user
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def rosa(django_user_model):
    return make_user(django_user_model, "rosa", "reviewer")


def test_the_queue_offers_a_checkbox_per_draft_and_the_bulk_bar(broker, reviewer_client):
    draft = received_draft("em_1")
    page = reviewer_client.get("/queue/").content.decode()
    assert f'name="ids" value="{draft.pk}" form="bulk-form"' in page
    assert 'id="bulk-form"' in page and 'value="reject"' in page


def test_rejecting_in_bulk_decides_each_selected_draft_with_the_one_reason(broker, reviewer, reviewer_client, rosa):
    a, b, c = received_draft("em_a"), received_draft("em_b", subject="Taken"), received_draft("em_c")
    draft_decide(draft=b, reviewer=rosa, action="reject", reason="first", origin="web")
    response = reviewer_client.post(
        "/queue/bulk",
        {"ids": [a.pk, b.pk, c.pk], "action": "reject", "reason_preset": "Wrong recipient", "query": "flag=spam"},
    )
    assert response.status_code == 302 and response["Location"] == "/queue/?flag=spam"
    assert {d.draft_id: (d.reviewer_id, d.reason, d.origin) for d in Decision.objects.all()} == {
        a.pk: (reviewer.pk, "Wrong recipient", "web"),
        b.pk: (rosa.pk, "first", "web"),
        c.pk: (reviewer.pk, "Wrong recipient", "web"),
    }
    messages = told(response)
    assert "Rejected 2 drafts." in messages
    assert any("«Taken»" in m and "already rejected by rosa" in m for m in messages)


def test_a_bulk_rejection_without_a_reason_decides_nothing_and_says_why(broker, reviewer_client):
    draft = received_draft("em_a")
    response = reviewer_client.post("/queue/bulk", {"ids": [draft.pk], "action": "reject"})
    assert response.status_code == 302
    assert any("needs a reason" in m for m in told(response))
    assert not Decision.objects.exists()


def test_nothing_selected_is_said_plainly(broker, reviewer_client):
    response = reviewer_client.post("/queue/bulk", {"action": "claim"})
    assert any("Select drafts first" in m for m in told(response))


def test_claiming_in_bulk_leaves_someone_elses_claim_alone_and_release_drops_only_mine(
    broker, reviewer, reviewer_client, rosa
):
    a, b = received_draft("em_a"), received_draft("em_b")
    draft_claim(draft=b, reviewer=rosa)
    response = reviewer_client.post("/queue/bulk", {"ids": [a.pk, b.pk], "action": "claim"})
    assert {c.draft_id: c.holder_id for c in Claim.objects.all()} == {a.pk: reviewer.pk, b.pk: rosa.pk}
    assert any("claimed by rosa" in m for m in told(response))
    reviewer_client.post("/queue/bulk", {"ids": [a.pk, b.pk], "action": "release"})
    assert {c.draft_id: c.holder_id for c in Claim.objects.all()} == {b.pk: rosa.pk}


def test_bulk_approval_first_lists_the_unflagged_drafts_and_leaves_the_flagged_out(broker, reviewer_client):
    clean = received_draft("em_clean", subject="Clean one", latest_snapshot_id=None)
    flagged = received_draft("em_flagged", subject="Spammy one", flag_spam=True, spam_verdict="spam")
    page = reviewer_client.post("/queue/bulk", {"ids": [clean.pk, flagged.pk], "action": "approve"})
    html = page.content.decode()
    assert page.status_code == 200 and "Approve 1 draft?" in html
    assert f'name="ids" value="{clean.pk}"' in html and f'name="ids" value="{flagged.pk}"' not in html
    assert "Spammy one" in html.split('id="bulk-approve-flagged"')[1]
    assert not Decision.objects.exists()  # nothing until confirmed
    confirmed = reviewer_client.post(
        "/queue/bulk", {"ids": [clean.pk], "action": "approve", "confirm": "1", f"snapshot_{clean.pk}": ""}
    )
    assert "Approved 1 draft." in told(confirmed)
    assert list(Decision.objects.values_list("draft_id", "action")) == [(clean.pk, "approve")]


def test_a_flagged_draft_slipped_into_a_confirmed_bulk_approval_is_still_refused(broker, reviewer_client):
    flagged = received_draft("em_flagged", flag_customer_replied=True)
    response = reviewer_client.post("/queue/bulk", {"ids": [flagged.pk], "action": "approve", "confirm": "1"})
    assert any("flagged" in m for m in told(response))
    assert not Decision.objects.exists()


def test_bulk_actions_need_the_reviewer_role(broker, outsider):
    response = logged_in_client(outsider).post("/queue/bulk", {"ids": [1], "action": "claim"})
    assert response.status_code == 403


def test_ids_that_are_not_numbers_are_refused_plainly(broker, reviewer_client):
    response = reviewer_client.post("/queue/bulk", {"ids": ["1; drop"], "action": "claim"})
    assert response.status_code == 302
    assert any("positive whole numbers" in m for m in told(response))
