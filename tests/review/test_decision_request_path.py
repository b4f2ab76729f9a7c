"""What a reviewer's decision costs on the request path, and the edit panel's preview drawn in the page.

The decision POST commits its decision, audit event and outbox rows, queues the outbox's `decide` by
the id it inserted, and redirects to the next draft; these tests keep its statements to that (a
guard for bench/review_flow.py's per-step server time, issue 18). The draft page carries the edit
panel's preview and redline from the start, so opening a draft makes no preview request.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviewqueue.review.claims import draft_claim
from reviewqueue.review.models import Claim, Decision, Draft, OutboxItem
from reviewqueue.review.reasons import PRESET_REJECT_REASONS
from reviewqueue.review.redline import edit_preview, redline_html, word_diff
from tests.conftest import make_user
from tests.review.conftest import received_draft
from tests.review.page_helpers import customer_part, make_conversation, store_snapshot

pytestmark = pytest.mark.django_db

# Session and user, the reviewer's roles, the draft; in the transaction: the lock, the draft read again
# with its decision and claim, the decision, the draft's status, the outbox rows, the audit append
# (its lock and last event, then the event); the next draft. After commit, nothing while Slack is not
# configured (d29cf6a). Savepoints and transaction control are left out.
DECISION_POST_STATEMENTS = 11
# The roles, the lock and the draft's reads with its decision and claim (before and after the lock) are
# statements written out once (accounts/roles.py, review/claims.py, review/draft_reads.py): compiling them
# as ORM queries on every request cost more CPU than running them (issue 18).
WRITTEN_OUT = ("SELECT ARRAY(SELECT p.codename", "SELECT id FROM review_draft WHERE id = ", 'SELECT d."id"')
# The draft page of a pending draft with a conversation: session and user, roles, the draft with its
# decision and claim, the snapshot, the j/k neighbours, the context refresh's look at the next drafts,
# the four-eyes notice's first approval.
DRAFT_PAGE_STATEMENTS = 7


@pytest.fixture
def counted(django_capture_on_commit_callbacks):
    """Run a request, its after-commit work included (as at a real commit); its statements, less
    savepoints and transaction control. The client's session is read and renewed first, as a reviewer's
    is once they have opened a page (the broker fixture emptied the cache holding it)."""

    def run(client, request) -> tuple:
        client.get(reverse("review:queue"))
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            response = request()
        sql = [
            q["sql"]
            for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
        ]
        return response, sql

    return run


def two_drafts():
    now = timezone.now()
    first = received_draft("em_1", waiting_since=now - timedelta(hours=2))
    second = received_draft("em_2", waiting_since=now - timedelta(hours=1))
    return first, second


def reject(client, draft):
    url = reverse("review:draft_decision", args=[draft.pk])
    return client.post(url, {"action": "reject", "reason_preset": PRESET_REJECT_REASONS[0]})


def test_a_decision_post_takes_a_fixed_number_of_statements_and_queues_its_decide(reviewer_client, broker, counted):
    first, second = two_drafts()
    response, sql = counted(reviewer_client, lambda: reject(reviewer_client, first))
    assert response.status_code == 302 and response["Location"] == reverse("review:draft", args=[second.pk])
    assert len(sql) == DECISION_POST_STATEMENTS, "\n".join(sql)
    assert sum("FOR UPDATE" in s for s in sql) == 1
    assert [sum(s.startswith(start) for s in sql) for start in WRITTEN_OUT] == [1, 1, 2], "\n".join(sql)
    assert not any(s.startswith("SELECT") and '"review_outboxitem"' in s for s in sql)  # not read back
    assert not any(s.startswith("DELETE") and '"review_claim"' in s for s in sql)  # there was no claim
    decide = OutboxItem.objects.get(decision__draft=first, kind=OutboxItem.Kind.DECIDE)
    assert broker.queued() == [("review.outbox_run", [decide.pk])]  # after commit, the decide alone


def test_the_draft_page_takes_a_fixed_number_of_statements_written_out_where_they_repeat(reviewer_client, counted):
    at = timezone.now() - timedelta(hours=1)
    snapshot = store_snapshot(make_conversation("c_1", parts=[customer_part("p1", "Where is it?", at=at)]))
    first, _ = two_drafts()
    Draft.objects.filter(pk=first.pk).update(conversation_id="c_1", latest_snapshot_id=snapshot.pk)
    response, sql = counted(reviewer_client, lambda: reviewer_client.get(reverse("review:draft", args=[first.pk])))
    assert response.status_code == 200 and "Where is it?" in response.content.decode()
    assert len(sql) == DRAFT_PAGE_STATEMENTS, "\n".join(sql)
    assert sum(s.startswith(WRITTEN_OUT[0]) for s in sql) == sum(s.startswith(WRITTEN_OUT[2]) for s in sql) == 1


def test_an_approval_costs_one_more_statement_for_the_four_eyes_policy(reviewer_client, broker, counted):
    first, _ = two_drafts()
    url = reverse("review:draft_decision", args=[first.pk])
    response, sql = counted(reviewer_client, lambda: reviewer_client.post(url, {"action": "approve"}))
    assert response.status_code == 302
    assert len(sql) == DECISION_POST_STATEMENTS + 1, "\n".join(sql)  # the mailbox's four-eyes policy
    assert Decision.objects.get(draft=first).action == "approve"


def test_deciding_a_draft_one_holds_drops_the_claim(reviewer, reviewer_client, broker, counted):
    first, _ = two_drafts()
    draft_claim(draft=first, reviewer=reviewer)
    response, sql = counted(reviewer_client, lambda: reject(reviewer_client, first))
    assert response.status_code == 302
    assert len(sql) == DECISION_POST_STATEMENTS + 1, "\n".join(sql)  # the claim's DELETE
    assert not Claim.objects.exists()
    assert Decision.objects.get(draft=first).action == "reject"


def test_a_claim_taken_by_someone_else_still_refuses_the_decision(reviewer_client, django_user_model, broker):
    first, _ = two_drafts()
    draft_claim(draft=first, reviewer=make_user(django_user_model, "sam", "reviewer"))
    response = reject(reviewer_client, first)
    assert response.status_code == 409 and "sam" in response.content.decode()
    assert not Decision.objects.exists() and broker.queued() == []


def test_the_draft_page_carries_the_edit_preview_and_asks_for_none_on_load(reviewer_client):
    draft = received_draft(subject="Your refund", markdown="Hello, your refund of **50** EUR is on its way.")
    html = reviewer_client.get(reverse("review:draft", args=[draft.pk])).content.decode()
    panel = r'<div id="edit-preview" aria-live="polite">(.*?)</div>\s*<div class="edit-actions">'
    preview = re.search(panel, html, re.S)
    assert preview, "the edit panel's preview is in the page"
    assert 'id="edit-redline"' in preview.group(1) and 'id="edit-unchanged"' in preview.group(1)
    assert "(no change)" in preview.group(1)
    assert "<strong>50</strong>" in preview.group(1)  # the page's own rendering of the body
    assert "<ins" not in preview.group(1) and "<del" not in preview.group(1)
    triggers = re.findall(r'hx-trigger="([^"]*)"', html)
    assert triggers and not any("load" in trigger for trigger in triggers)


def test_a_refused_edit_comes_back_with_its_redline_in_the_page(reviewer_client, django_user_model, broker):
    draft = received_draft(subject="Your refund", markdown="Hello, your refund of 50 EUR is on its way.")
    draft_claim(draft=draft, reviewer=make_user(django_user_model, "sam", "reviewer"))
    edited = "Hello, your refund of 45 EUR is on its way."
    url = reverse("review:draft_approve_edited", args=[draft.pk])
    response = reviewer_client.post(url, {"edit_subject": "", "edit_markdown": edited})
    html = response.content.decode()
    assert response.status_code == 409
    assert '<details class="edit-panel" id="edit-panel" data-edit-panel open>' in html
    assert '<del class="redline-del">[-50-]</del><ins class="redline-ins">{+45+}</ins>' in html
    assert 'id="edit-unchanged"' not in html


@pytest.mark.parametrize("text", ["", "Hello", "Hello, **Ana**!\n\n  Your order <b>#12</b> ships.\t\n", " \n"])
def test_an_unchanged_preview_is_what_the_diff_would_show(text):
    preview = edit_preview(old_subject=text, old_markdown=text, subject=text, markdown=text)
    assert preview["body_redline"] == preview["subject_redline"] == redline_html(word_diff(text, text))
    assert preview["summary"] == "no change" and preview["unchanged"]
