"""The CAN-SPAM footer flag: a commercial mailbox's draft without the account's physical address (read
from the sandbox's GET /v1/account) or without an unsubscribe link is flagged in the queue."""

import httpx
import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.oversight.compliance import account_refresh, can_spam_missing, mailbox_commercial_set
from reviewqueue.review.models import Draft
from reviewqueue.review.presentation import draft_flag_badges
from reviewqueue.routing.models import Mailbox
from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app
from reviewqueue.sandbox.multimail.upgrades import DEFAULT_ADDRESS

pytestmark = pytest.mark.django_db
FOOTER = f"\n\n{DEFAULT_ADDRESS}\n\n[Unsubscribe](https://fernhill.example/unsubscribe?u=1)"


@pytest.fixture
def sandbox(monkeypatch):
    app = make_app(knobs=Knobs(delivery_ms=0), start_sender=False)
    client = MultiMailClient(base_url="http://multimail.sandbox", api_key=defaults.OVERSIGHT_KEY,
                             transport=httpx.WSGITransport(app=app))  # fmt: skip
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client)
    return app


@pytest.fixture
def commercial(sandbox, admin_user):
    Mailbox.objects.create(mailbox_id="mb_news", address="news@fernhill.example")
    mailbox_commercial_set(user=admin_user, mailbox_id="mb_news", commercial=True)
    assert account_refresh() == DEFAULT_ADDRESS
    return "mb_news"


def draft(mailbox_id: str, markdown: str) -> Draft:
    return Draft(email_id="em_x", mailbox_id=mailbox_id, source="webhook", markdown=markdown)


def test_a_complete_footer_is_not_flagged(commercial):
    assert can_spam_missing(draft(commercial, "Our autumn sale starts today!" + FOOTER)) == []


def test_missing_address_and_link_are_named_in_the_queue_badge(commercial):
    missing = draft(commercial, "Our autumn sale starts today! [Shop](https://fernhill.example/sale)")
    assert can_spam_missing(missing) == ["physical address", "unsubscribe link"]
    (badge,) = [b for b in draft_flag_badges(missing) if b.flag == "can_spam"]
    assert badge.label == "CAN-SPAM footer missing" and badge.title == "Missing: physical address, unsubscribe link"


def test_the_address_may_be_wrapped_differently(commercial):
    wrapped = DEFAULT_ADDRESS.replace(", ", ",\n")
    body = f"Sale!\n\n{wrapped}\n\nUnsubscribe: https://fernhill.example/unsubscribe"
    assert can_spam_missing(draft(commercial, body)) == []


def test_a_transactional_mailbox_is_never_flagged(commercial):
    assert can_spam_missing(draft("mb_support", "Your refund is on its way.")) == []
    assert not [b for b in draft_flag_badges(draft("mb_support", "x")) if b.flag == "can_spam"]


def test_marking_a_mailbox_is_audited_and_admins_do_it_on_the_policy_page(sandbox, admin_client_, auditor_client):
    Mailbox.objects.create(mailbox_id="mb_news", address="news@fernhill.example")
    page = admin_client_.get("/manage/oversight/policy/").content.decode()
    assert "<title>Readiness policy · reviewqueue</title>" in page and page.count('id="commercial-title"') == 1
    response = admin_client_.post(
        "/manage/oversight/commercial", {"mailbox": "mb_news", "commercial": "1"}, follow=True
    )
    assert "mb_news sends commercial mail" in response.content.decode()
    assert can_spam_missing(draft("mb_news", "Sale!")) == ["physical address", "unsubscribe link"]
    assert AuditEvent.objects.get(action="oversight.commercial_mail_set").payload == {"before": False, "after": True}
    assert admin_client_.post("/manage/oversight/commercial", {"mailbox": "nope", "commercial": "1"}).status_code == 400
    assert (
        auditor_client.post("/manage/oversight/commercial", {"mailbox": "mb_news", "commercial": "0"}).status_code
        == 403
    )
