"""The health page: poll, pending counts, outbox backlog and failures with retry, webhooks, rate limits."""

from django.urls import reverse
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.review.models import Draft, OutboxItem


def test_the_health_page_reports_each_part(admin_client_, multimail):
    from reviewqueue.review.poll import poll_record_success

    poll_record_success()
    draft = Draft.objects.create(email_id="em_1", mailbox_id="mb_1", source="poll", subject="Refund")
    OutboxItem.objects.create(kind="decide", draft=draft, status="pending")
    InboundWebhook.objects.create(source="multimail", delivery_id="d1", topic="oversight.pending", payload={})
    multimail.deliveries = [
        {
            "id": "dl_1",
            "event_type": "oversight.pending",
            "url": "https://x/webhooks/multimail",
            "status": "failed",
            "attempts": 3,
            "response_status": 500,
            "created_at": "2026-11-25T10:00:00Z",
            "last_attempt_at": "2026-11-25T10:05:00Z",
        }
    ]
    body = admin_client_.get(reverse("routing:health")).content.decode()
    assert "on time" in body
    assert "0 in MultiMail · 1 in the queue" in body
    assert "1 waiting" in body
    assert "oversight.pending" in body and "failed" in body
    assert "received: 1" in body
    assert "unknown" in body  # no Intercom rate-limit figure recorded


def test_a_failed_outbox_item_can_be_retried(admin_client_, admin_user, multimail):
    draft = Draft.objects.create(email_id="em_1", mailbox_id="mb_1", source="poll")
    item = OutboxItem.objects.create(kind="decide", draft=draft, status="failed", attempts=5, last_error="boom")
    assert b"boom" in admin_client_.get(reverse("routing:health")).content
    admin_client_.post(reverse("routing:outbox_retry", args=[item.pk]))
    item.refresh_from_db()
    assert item.status == "pending" and item.attempts == 0 and item.next_attempt_at <= timezone.now()
    assert AuditEvent.objects.filter(action="outbox.retried", actor_id=str(admin_user.pk)).exists()


def test_missing_multimail_keys_show_which_variable_to_set(admin_client_, multimail, monkeypatch):

    bare = multimail.client(api_key="", admin_api_key="", send_api_key="")
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: bare)
    response = admin_client_.get(reverse("routing:health"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "MULTIMAIL_API_KEY" in body and "MULTIMAIL_ADMIN_API_KEY" in body
