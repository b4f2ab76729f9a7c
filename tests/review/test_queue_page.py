import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviewqueue.review.forms import MAILBOX_CHOICES_KEY
from reviewqueue.review.models import Draft
from tests.conftest import logged_in_client, make_user
from tests.review.page_helpers import assert_csp_clean, claim_for, make_draft

QUEUE = reverse("review:queue")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue-table"}  # the table's own poll/filter/pager requests


@pytest.fixture(autouse=True)
def fresh_mailbox_choices():
    # The mailbox menu is cached in Redis for a few seconds; each test starts without it.
    cache.delete(MAILBOX_CHOICES_KEY)


def row_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-draft-id="(\d+)"', response.content.decode())]


def poll_version(response) -> str:
    return re.search(r'data-version="([0-9a-f]+)"', response.content.decode()).group(1)


# --- access ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_auditor_without_reviewer_role_is_refused(auditor_client):
    assert auditor_client.get(QUEUE).status_code == 403


def test_person_without_a_role_is_refused(outsider):
    assert logged_in_client(outsider).get(QUEUE).status_code == 403


def test_reviewer_sees_the_queue(reviewer_client):
    draft = make_draft(subject="Refund for order 42")
    response = reviewer_client.get(QUEUE)
    assert response.status_code == 200
    assert "Refund for order 42" in response.content.decode()
    assert row_ids(response) == [draft.pk]


# --- what it lists and in which order -------------------------------------------------------------------


def test_the_customer_waiting_longest_comes_first(reviewer_client):
    now = timezone.now()
    recent = make_draft(waiting_since=now - timedelta(minutes=1))
    oldest = make_draft(waiting_since=now - timedelta(hours=3))
    middle = make_draft(waiting_since=now - timedelta(minutes=30))
    assert row_ids(reviewer_client.get(QUEUE)) == [oldest.pk, middle.pk, recent.pk]


def test_decided_and_failed_drafts_are_not_listed(reviewer_client):
    pending = make_draft()
    make_draft(status=Draft.Status.DECIDED_ELSEWHERE)
    make_draft(status=Draft.Status.FAILED)
    assert row_ids(reviewer_client.get(QUEUE)) == [pending.pk]


def test_rows_show_mailbox_recipient_claim_holder_and_flags(reviewer_client, django_user_model):
    bo = make_user(django_user_model, "bo", "reviewer")
    draft = make_draft(
        mailbox_address="billing@ours.example",
        to=["zed@customer.example"],
        flag_customer_replied=True,
        flag_unknown_links=True,
        unknown_link_domains=["pay-now.example"],
    )
    claim_for(draft, bo)
    html = reviewer_client.get(QUEUE).content.decode()
    assert "billing@ours.example" in html
    assert "zed@customer.example" in html
    assert ">bo<" in html
    assert 'data-flag="customer_replied"' in html
    assert 'data-flag="unknown_links" title="Links to pay-now.example"' in html
    assert 'data-flag="spam"' not in html


def test_an_expired_claim_shows_nobody_holding_the_draft(reviewer_client, django_user_model):
    bo = make_user(django_user_model, "bo", "reviewer")
    claim_for(make_draft(), bo, minutes=-1)
    assert ">bo<" not in reviewer_client.get(QUEUE).content.decode()


# --- filters -----------------------------------------------------------------------------------------


def test_filter_by_mailbox(reviewer_client):
    billing = make_draft(mailbox_id="mbx_billing", mailbox_address="billing@ours.example")
    make_draft(mailbox_id="mbx_support")
    response = reviewer_client.get(QUEUE, {"mailbox": "mbx_billing"})
    assert row_ids(response) == [billing.pk]
    assert '<option value="mbx_billing" selected>billing@ours.example</option>' in response.content.decode()


@pytest.mark.parametrize("flag", ["customer_replied", "recipient_not_contact", "spam", "attachments", "unknown_links"])
def test_filter_by_each_flag(reviewer_client, flag):
    flagged = make_draft(**{f"flag_{flag}": True})
    make_draft()
    assert row_ids(reviewer_client.get(QUEUE, {"flag": flag})) == [flagged.pk]


def test_filter_claimed_by_me(reviewer, reviewer_client, django_user_model):
    bo = make_user(django_user_model, "bo", "reviewer")
    mine = make_draft()
    claim_for(mine, reviewer)
    claim_for(make_draft(), bo)
    make_draft()
    assert row_ids(reviewer_client.get(QUEUE, {"mine": "1"})) == [mine.pk]


def test_unknown_flag_is_a_clear_400(reviewer_client):
    response = reviewer_client.get(QUEUE, {"flag": "<script>"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_filters_stay_in_paging_and_polling_links(reviewer_client):
    for _ in range(51):
        make_draft(mailbox_id="mbx_billing", flag_spam=True)
    html = reviewer_client.get(QUEUE, {"mailbox": "mbx_billing", "flag": "spam"}).content.decode()
    assert 'href="?mailbox=mbx_billing&amp;flag=spam&amp;page=2"' in html
    assert f'hx-get="{QUEUE}?mailbox=mbx_billing&amp;flag=spam"' in html


# --- pagination ----------------------------------------------------------------------------------------


def test_the_queue_is_paginated_in_queue_order(reviewer_client):
    drafts = [make_draft(waiting_since=timezone.now() - timedelta(minutes=100 - i)) for i in range(55)]
    first = reviewer_client.get(QUEUE)
    second = reviewer_client.get(QUEUE, {"page": 2})
    assert row_ids(first) == [d.pk for d in drafts[:50]]
    assert row_ids(second) == [d.pk for d in drafts[50:]]
    assert "page 2 of 2" in second.content.decode()


def test_a_page_past_the_end_shows_the_last_page(reviewer_client):
    draft = make_draft()
    assert row_ids(reviewer_client.get(QUEUE, {"page": 99})) == [draft.pk]


def test_a_page_that_is_not_a_number_is_a_clear_400(reviewer_client):
    response = reviewer_client.get(QUEUE, {"page": "two"})
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()


# --- htmx: partial table, live updates --------------------------------------------------------------------


def test_htmx_request_gets_only_the_table(reviewer_client):
    draft = make_draft()
    response = reviewer_client.get(QUEUE, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="queue-table"')
    assert "<html" not in html
    assert row_ids(response) == [draft.pk]


def test_the_table_polls_itself_every_few_seconds(reviewer_client):
    html = reviewer_client.get(QUEUE).content.decode()
    assert 'hx-trigger="every 5s"' in html
    assert 'hx-swap="outerHTML"' in html


def test_polling_an_unchanged_queue_answers_204(reviewer_client):
    make_draft()
    version = poll_version(reviewer_client.get(QUEUE))
    response = reviewer_client.get(QUEUE, {"v": version}, **HTMX)
    assert response.status_code == 204
    assert response.content == b""


def test_polling_shows_a_draft_that_arrived(reviewer_client):
    first = make_draft()
    version = poll_version(reviewer_client.get(QUEUE))
    arrived = make_draft()
    response = reviewer_client.get(QUEUE, {"v": version}, **HTMX)
    assert response.status_code == 200
    assert set(row_ids(response)) == {first.pk, arrived.pk}


def test_polling_drops_a_draft_that_left(reviewer_client):
    staying, leaving = make_draft(), make_draft()
    version = poll_version(reviewer_client.get(QUEUE))
    Draft.objects.filter(pk=leaving.pk).update(status=Draft.Status.DECIDED_ELSEWHERE)
    response = reviewer_client.get(QUEUE, {"v": version}, **HTMX)
    assert row_ids(response) == [staying.pk]


def test_polling_shows_a_new_claim(reviewer_client, django_user_model):
    draft = make_draft()
    version = poll_version(reviewer_client.get(QUEUE))
    claim_for(draft, make_user(django_user_model, "bo", "reviewer"))
    response = reviewer_client.get(QUEUE, {"v": version}, **HTMX)
    assert response.status_code == 200
    assert ">bo<" in response.content.decode()


def test_a_boosted_navigation_to_the_queue_gets_the_whole_page(reviewer_client):
    """The redirect after the last decision on a boosted draft page: htmx follows it with HX-Request and
    HX-Boosted but no HX-Target, and must get the page with its layout, not the table alone."""
    make_draft(subject="Still waiting")
    response = reviewer_client.get(QUEUE, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" in content and "<h1>Review queue</h1>" in content and "Still waiting" in content


def test_the_table_poll_still_gets_the_partial(reviewer_client):
    make_draft(subject="Still waiting")
    content = reviewer_client.get(QUEUE, **HTMX).content.decode()
    assert "Still waiting" in content and "<html" not in content
    assert content.lstrip().startswith('<div id="queue-table"')


def test_history_restore_gets_the_whole_page(reviewer_client):
    response = reviewer_client.get(QUEUE, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


# --- safety --------------------------------------------------------------------------------------------------


def test_queue_page_keeps_to_the_content_security_policy(reviewer_client):
    make_draft(subject='<img src=x onerror="alert(1)"> style="color:red"', flag_spam=True, spam_verdict="spam")
    response = reviewer_client.get(QUEUE)
    assert_csp_clean(response)
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in response.content.decode()


def test_queue_page_loads_the_keyboard_script_and_help(reviewer_client):
    html = reviewer_client.get(QUEUE).content.decode()
    assert re.search(r'<script nonce="[^"]+" src="/static/js/review\.js" defer>', html)
    assert '<dialog id="keyboard-help"' in html


def test_paging_links_do_not_inherit_the_pollers_values(reviewer_client):
    # htmx children inherit hx-vals: a pager link inside the poller would send the poll's page and version.
    for _ in range(51):
        make_draft()
    html = reviewer_client.get(QUEUE).content.decode()
    poller = re.search(r'<div class="hidden" hx-get="[^"]*"\s+hx-vals=[^>]*></div>', html)
    assert poller, "the poller is an empty element of its own"
    assert 'rel="next"' in html
    assert html.index("</div>", poller.start()) < html.index('rel="next"')


def test_the_mailbox_menu_is_cached_briefly(reviewer_client):
    make_draft(mailbox_id="mbx_billing", mailbox_address="billing@ours.example")
    reviewer_client.get(QUEUE)
    make_draft(mailbox_id="mbx_new", mailbox_address="new@ours.example")
    html = reviewer_client.get(QUEUE).content.decode()
    assert "billing@ours.example</option>" in html
    assert "new@ours.example</option>" not in html  # appears once the cache expires
    cache.delete(MAILBOX_CHOICES_KEY)
    assert "new@ours.example</option>" in reviewer_client.get(QUEUE).content.decode()


def queries_for(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_queue(reviewer_client, django_user_model):
    bo = make_user(django_user_model, "bo", "reviewer")
    for n in range(3):
        claim_for(make_draft(flag_spam=True), bo) if n % 2 else make_draft()
    reviewer_client.get(QUEUE)  # the mailbox menu is cached from here on
    few, few_table = queries_for(reviewer_client, QUEUE), queries_for(reviewer_client, QUEUE, **HTMX)
    for n in range(60):
        claim_for(make_draft(flag_spam=True), bo) if n % 2 else make_draft()
    assert queries_for(reviewer_client, QUEUE) == few
    assert queries_for(reviewer_client, QUEUE, **HTMX) == few_table
    assert queries_for(reviewer_client, f"{QUEUE}?page=2") == few
    assert few <= 10


def test_no_template_comment_leaks_into_the_page(reviewer_client):
    html = reviewer_client.get(QUEUE).content.decode()
    assert "{#" not in html
    assert "#}" not in html
