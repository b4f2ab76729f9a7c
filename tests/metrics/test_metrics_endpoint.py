"""/metrics: off without METRICS_TOKEN, behind the bearer token, and what it reports, from PostgreSQL and Redis."""

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from reviewqueue.integrations.http import RetryPolicy
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.integrations.multimail.errors import MultiMailRateLimited, MultiMailServerError
from reviewqueue.metrics import counters
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.sla.models import MailboxPolicy
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    counters.counters_reset()
    yield
    counters.counters_reset()


def scrape(token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().get("/metrics", **headers)


def samples(response) -> dict[tuple, float]:
    """{(name, ((label, value), …)): value} of every sample."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_are_off_without_a_token_setting(settings):
    settings.METRICS_TOKEN = ""
    assert scrape().status_code == 404


def test_metrics_need_the_bearer_token():
    missing = scrape(token=None)
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert scrape(token="wrong").status_code == 403
    ok = scrape()
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")


def test_waiting_oldest_and_overdue_per_mailbox(broker):
    now = timezone.now()
    MailboxPolicy.objects.create(mailbox_id="mbx_billing", target=timedelta(minutes=30))
    received_draft("em_1", mailbox_id="mbx_billing", waiting_since=now - timedelta(hours=2))
    received_draft("em_2", mailbox_id="mbx_billing", waiting_since=now - timedelta(minutes=5))
    received_draft("em_3", mailbox_id="mbx_shipping", waiting_since=now - timedelta(minutes=50))
    found = samples(scrape())
    assert found[("reviewqueue_drafts_waiting", (("mailbox", "mbx_billing"),))] == 2
    assert found[("reviewqueue_drafts_waiting", (("mailbox", "mbx_shipping"),))] == 1
    assert found[("reviewqueue_drafts_overdue", (("mailbox", "mbx_billing"),))] == 1
    assert found[("reviewqueue_drafts_overdue", (("mailbox", "mbx_shipping"),))] == 0  # no target, never overdue
    assert 7190 < found[("reviewqueue_oldest_wait_seconds", (("mailbox", "mbx_billing"),))] < 7300
    assert found[("reviewqueue_decision_target_seconds", (("mailbox", "mbx_billing"),))] == 1800


def test_decisions_by_action_and_surface_and_the_time_from_hold_to_decision(broker, reviewer):
    now = timezone.now()
    held = [
        received_draft(f"em_{i}", received_at=now - timedelta(minutes=minutes))
        for i, minutes in enumerate((2, 20, 200))
    ]
    draft_decide(draft=held[0], reviewer=reviewer, action="reject", reason="no", origin="web")
    draft_decide(draft=held[1], reviewer=reviewer, action="reject", reason="no", origin="api")
    draft_decide(draft=held[2], reviewer=reviewer, action="approve", reason="", origin="web")
    found = samples(scrape())
    assert found[("reviewqueue_decisions_total", (("action", "reject"), ("origin", "web")))] == 1
    assert found[("reviewqueue_decisions_total", (("action", "reject"), ("origin", "api")))] == 1
    assert found[("reviewqueue_decisions_total", (("action", "approve"), ("origin", "web")))] == 1
    bucket = "reviewqueue_hold_to_decision_seconds_bucket"
    assert found[(bucket, (("le", "300.0"),))] == 1
    assert found[(bucket, (("le", "1800.0"),))] == 2
    assert found[(bucket, (("le", "+Inf"),))] == 3
    assert found[("reviewqueue_hold_to_decision_seconds_count", ())] == 3
    assert 13300 < found[("reviewqueue_hold_to_decision_seconds_sum", ())] < 13400


def test_outbox_items_by_state_and_the_oldest_age(broker, reviewer):
    draft = received_draft("em_1")
    draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="no", origin="web")
    OutboxItem.objects.filter(kind="decide").update(status="failed", created_at=timezone.now() - timedelta(hours=1))
    found = samples(scrape())
    assert found[("reviewqueue_outbox_items", (("state", "failed"),))] == 1
    assert found[("reviewqueue_outbox_items", (("state", "done"),))] == 0
    assert 3590 < found[("reviewqueue_outbox_oldest_age_seconds", (("state", "failed"),))] < 3700


def test_webhook_deliveries_refused_are_counted_by_source_and_status(broker, settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = "whsec_test"
    settings.INTERCOM_CLIENT_SECRET = "intercom-secret"
    client = Client()
    client.post("/webhooks/multimail", data=b'{"mailbox": "mbx_1"}', content_type="application/json")
    client.post("/webhooks/multimail", data=b"not json", content_type="application/json")
    client.post("/webhooks/intercom", data=b"{}", content_type="application/json")
    client.head("/webhooks/intercom")  # Intercom's URL check is no delivery
    found = samples(scrape())
    refused = "reviewqueue_webhook_deliveries_refused_total"
    assert found[(refused, (("source", "multimail"), ("status", "401")))] == 1
    assert found[(refused, (("source", "multimail"), ("status", "400")))] == 1
    assert found[(refused, (("source", "intercom"), ("status", "401")))] == 1
    assert not [key for key in found if key[0] == "reviewqueue_webhook_deliveries_received_total"]


def test_vendor_call_errors_are_counted_by_kind(broker):
    answers = iter([httpx.Response(429, json={"error": "slow down"}), httpx.Response(503, json={"error": "down"})])
    client = MultiMailClient(
        base_url="https://api.multimail.test",
        api_key="mm_live_x",
        transport=httpx.MockTransport(lambda request: next(answers)),
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(MultiMailRateLimited):
        client.pending()
    with pytest.raises(MultiMailServerError):
        client.pending()
    found = samples(scrape())
    errors = "reviewqueue_vendor_errors_total"
    assert found[(errors, (("kind", "rate_limited"), ("vendor", "multimail")))] == 1
    assert found[(errors, (("kind", "server_error"), ("vendor", "multimail")))] == 1


def test_pending_drafts_of_other_states_are_not_waiting(broker):
    received_draft("em_1")
    Draft.objects.update(status="failed")
    found = samples(scrape())
    assert not [key for key in found if key[0] == "reviewqueue_drafts_waiting"]
