"""/metrics answers the same from every process: two gunicorn servers (two workers each) on one database and Redis.

A webhook refused by one server shows in the other's count, and the drafts and decisions each
reports are the database's, not a process's own memory.
"""

from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from reviewqueue.metrics import counters
from reviewqueue.review.decisions import draft_decide
from reviewqueue.sla.models import MailboxPolicy
from tests.livesystem import LiveSystem, database_url
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "metrics-token-for-tests-0123456789"
AGES = ("reviewqueue_oldest_wait_seconds", "reviewqueue_outbox_oldest_age_seconds")  # move on between scrapes


@pytest.fixture
def two_servers(broker):
    counters.counters_reset()
    url = database_url(connection.settings_dict)
    servers = [
        LiveSystem(database_url=url, redis_url=settings.REDIS_URL, extra_env={"METRICS_TOKEN": TOKEN}) for _ in "ab"
    ]
    try:
        for server in servers:
            server.start_web(wait=False)
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.cleanup()
        counters.counters_reset()


def scrape(server: LiveSystem) -> dict[tuple, float]:
    response = httpx.get(f"{server.web_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_two_servers_report_the_same_numbers(two_servers, reviewer):
    a, b = two_servers
    now = timezone.now()
    MailboxPolicy.objects.create(mailbox_id="mbx_billing", target=timedelta(minutes=30))
    for number in range(3):
        received_draft(f"em_{number}", mailbox_id="mbx_billing", waiting_since=now - timedelta(hours=number))
    decided = received_draft("em_decided", received_at=now - timedelta(minutes=10))
    draft_decide(draft=decided, reviewer=reviewer, action="reject", reason="no", origin="api")
    refused = httpx.post(f"{a.web_url}/webhooks/multimail", content=b'{"mailbox": "mbx_1"}', timeout=10)
    assert refused.status_code in (401, 503)

    scrapes = [scrape(server) for server in (a, b, a, b)]  # each server's two workers answer in turn

    first = scrapes[0]
    assert first[("reviewqueue_drafts_waiting", (("mailbox", "mbx_billing"),))] == 3
    assert first[("reviewqueue_drafts_overdue", (("mailbox", "mbx_billing"),))] == 2
    assert first[("reviewqueue_decisions_total", (("action", "reject"), ("origin", "api")))] == 1
    status = str(refused.status_code)
    assert first[("reviewqueue_webhook_deliveries_refused_total", (("source", "multimail"), ("status", status)))] == 1
    for other in scrapes[1:]:
        assert {k: v for k, v in other.items() if k[0] not in AGES} == {
            k: v for k, v in first.items() if k[0] not in AGES
        }
        for key, value in first.items():
            if key[0] in AGES:
                assert abs(other[key] - value) < 30
