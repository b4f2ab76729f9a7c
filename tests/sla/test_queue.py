"""The queue shows each draft's time to target, filters overdue drafts and marks first approvals."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.sla.errors import AwaitingSecondApproval
from reviewqueue.sla.models import MailboxPolicy
from reviewqueue.sla.selectors import time_to_target
from tests.conftest import logged_in_client, make_user
from tests.review.conftest import received_draft
from tests.sla.test_four_eyes import approve

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.mark.parametrize(
    ("waited_min", "text", "tone"),
    [
        (10, "20 min left", "ok"),
        (24, "6 min left", "warn"),
        (29.5, "<1 min left", "warn"),
        (95, "overdue by 1 h 5 min", "bad"),
    ],
)
def test_time_to_target_is_green_then_amber_in_the_last_fifth_then_red(waited_min, text, tone):
    assert time_to_target(NOW - timedelta(minutes=waited_min), timedelta(minutes=30), NOW) == (text, tone)
    assert time_to_target(NOW, None, NOW) == ("", "")


def target_cell(page: str, draft_id: int) -> str:
    row = re.search(rf'<tr data-queue-row data-draft-id="{draft_id}".*?</tr>', page, re.S).group(0)
    return re.findall(r"<td>(.*?)</td>", row, re.S)[3]


def test_the_queue_shows_time_to_target_and_filters_overdue_drafts(reviewer, broker):
    MailboxPolicy.objects.create(mailbox_id="mbx_1", target=timedelta(minutes=30))
    now = timezone.now()  # not the module's NOW: the page must be read within a minute of these times
    late = received_draft(email_id="em_late", subject="Late one", waiting_since=now - timedelta(minutes=50, seconds=30))
    fresh = received_draft(
        email_id="em_fresh", subject="Fresh one", waiting_since=timezone.now() - timedelta(minutes=4, seconds=30)
    )
    other = received_draft(
        email_id="em_nopolicy", mailbox_id="mbx_2", subject="No policy", waiting_since=now - timedelta(days=1)
    )
    client = logged_in_client(reviewer)
    page = client.get("/queue/").content.decode()
    assert 'class="badge bad" data-target>overdue by 20 min' in target_cell(page, late.pk)
    assert 'class="badge ok" data-target>25 min left' in target_cell(page, fresh.pk)
    assert target_cell(page, other.pk) == "—"
    overdue = client.get("/queue/?overdue=1").content.decode()
    assert "Late one" in overdue and "Fresh one" not in overdue and "No policy" not in overdue
    assert 'name="overdue" value="1" checked' in overdue
    api = client.get("/queue/?overdue=1&mailbox=mbx_2").content.decode()
    assert "No pending drafts match these filters" in api


def test_a_first_approval_is_marked_needs_a_second_approval_in_the_queue(reviewer, broker):
    MailboxPolicy.objects.create(mailbox_id="mbx_1", approvals_required=2)
    draft = received_draft()
    with pytest.raises(AwaitingSecondApproval):
        approve(draft, reviewer)
    page = logged_in_client(reviewer).get("/queue/").content.decode()
    assert 'data-flag="needs_second_approval"' in page and "needs a second approval" in page
    assert "First approval by rita" in page


def test_the_web_form_records_a_first_approval_and_moves_on(reviewer, broker):
    MailboxPolicy.objects.create(mailbox_id="mbx_1", approvals_required=2)
    draft = received_draft()
    client = logged_in_client(reviewer)
    response = client.post(f"/queue/drafts/{draft.pk}/decision", {"action": "approve"}, follow=True)
    assert response.status_code == 200
    assert "First approval by rita recorded" in response.content.decode()
    again = client.post(f"/queue/drafts/{draft.pk}/decision", {"action": "approve"})
    assert again.status_code == 409 and "two different people" in again.content.decode()


def test_the_draft_page_names_the_first_approver_and_asks_for_a_second(reviewer, broker, django_user_model):
    MailboxPolicy.objects.create(mailbox_id="mbx_1", approvals_required=2)
    draft = received_draft()
    with pytest.raises(AwaitingSecondApproval):
        approve(draft, reviewer)
    mine = logged_in_client(reviewer).get(f"/queue/drafts/{draft.pk}/").content.decode()
    assert "Needs a second approval." in mine and "First approval by rita" in mine and "someone else must" in mine
    other = make_user(django_user_model, "vera", "reviewer")
    theirs = logged_in_client(other).get(f"/queue/drafts/{draft.pk}/").content.decode()
    assert "Approving it sends it" in theirs


def test_the_api_lists_overdue_drafts(reviewer, broker):
    from tests.review.test_api_drafts import api

    MailboxPolicy.objects.create(mailbox_id="mbx_1", target=timedelta(minutes=30))
    late = received_draft(email_id="em_late", waiting_since=timezone.now() - timedelta(hours=1))
    received_draft(email_id="em_fresh")
    client = api(reviewer)
    listed = client.get("/api/v1/drafts?overdue=1").json()["drafts"]
    assert [d["id"] for d in listed] == [late.pk]
    assert len(client.get("/api/v1/drafts?overdue=0").json()["drafts"]) == 2
    assert client.get("/api/v1/drafts?overdue=maybe").status_code == 400
