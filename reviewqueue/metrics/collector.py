"""The metrics, read from PostgreSQL (and Redis counters) at each scrape: the same from any process.

A collector that reads the database, rather than counters kept in each process: gunicorn's
workers and the Celery workers share nothing else, and what an operator asks ("how many drafts
wait, for how long, how many decisions went out") is already recorded there. Each scrape runs a
handful of aggregate queries (about 10 ms at 10,000 pending drafts and 100,000 decisions).
"""

from django.db import connection
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from reviewqueue.metrics import counters
from reviewqueue.review.models import Decision, Draft, OutboxItem
from reviewqueue.sla.models import MailboxPolicy

# Seconds from the moment MultiMail held a draft to its decision: 1 min … 2 days.
HOLD_TO_DECISION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800)

_WAITING_SQL = """
SELECT d.mailbox_id,
       count(*),
       extract(epoch FROM now() - min(d.waiting_since)),
       count(*) FILTER (WHERE p.target IS NOT NULL AND d.waiting_since <= now() - p.target),
       extract(epoch FROM min(p.target))
  FROM {draft} d LEFT JOIN {policy} p ON p.mailbox_id = d.mailbox_id
 WHERE d.status = %s
 GROUP BY d.mailbox_id
 ORDER BY d.mailbox_id
"""

_TARGETS_SQL = "SELECT mailbox_id, extract(epoch FROM target) FROM {policy} WHERE target IS NOT NULL"

_DECISIONS_SQL = "SELECT action, origin, count(*) FROM {decision} GROUP BY action, origin ORDER BY action, origin"

_OUTBOX_SQL = """
SELECT status, count(*), extract(epoch FROM now() - min(created_at))
  FROM {outbox} GROUP BY status ORDER BY status
"""


def _hold_to_decision_sql() -> str:
    buckets = ", ".join(f"count(*) FILTER (WHERE s <= {bound})" for bound in HOLD_TO_DECISION_BUCKETS)
    return f"""
SELECT {buckets}, count(*), coalesce(sum(s), 0)
  FROM (SELECT greatest(0, extract(epoch FROM de.decided_at - coalesce(d.received_at, d.created_at))) AS s
          FROM {{decision}} de JOIN {{draft}} d ON d.id = de.draft_id) AS holds
"""  # noqa: S608 (numbers and table names of our own)


def _sql(template: str) -> str:
    return template.format(
        draft=Draft._meta.db_table,
        decision=Decision._meta.db_table,
        outbox=OutboxItem._meta.db_table,
        policy=MailboxPolicy._meta.db_table,
    )


def _rows(template: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_sql(template), params)
        return cursor.fetchall()


class ReviewqueueCollector(Collector):
    def collect(self):
        yield from self._waiting()
        yield self._targets()
        yield self._decisions()
        yield self._hold_to_decision()
        yield from self._outbox()
        yield from self._counters()

    def _waiting(self):
        waiting = GaugeMetricFamily("reviewqueue_drafts_waiting", "Pending drafts", labels=["mailbox"])
        oldest = GaugeMetricFamily(
            "reviewqueue_oldest_wait_seconds", "How long the longest-waiting customer has waited", labels=["mailbox"]
        )
        overdue = GaugeMetricFamily(
            "reviewqueue_drafts_overdue", "Pending drafts past their mailbox's decision target", labels=["mailbox"]
        )
        for mailbox, count, oldest_seconds, overdue_count, _ in _rows(_WAITING_SQL, [Draft.Status.PENDING]):
            waiting.add_metric([mailbox], count)
            oldest.add_metric([mailbox], float(oldest_seconds))
            overdue.add_metric([mailbox], overdue_count)
        return waiting, oldest, overdue

    def _targets(self):
        targets = GaugeMetricFamily(
            "reviewqueue_decision_target_seconds", "Each mailbox's decision target (sla policy)", labels=["mailbox"]
        )
        for mailbox, seconds in _rows(_TARGETS_SQL):
            targets.add_metric([mailbox], float(seconds))
        return targets

    def _decisions(self):
        decisions = CounterMetricFamily(
            "reviewqueue_decisions", "Decisions made, by action and surface", labels=["action", "origin"]
        )
        for action, origin, count in _rows(_DECISIONS_SQL):
            decisions.add_metric([action, origin], count)
        return decisions

    def _hold_to_decision(self):
        [row] = _rows(_hold_to_decision_sql())
        *cumulative, total, seconds = row
        bounds = zip(HOLD_TO_DECISION_BUCKETS, cumulative, strict=True)
        buckets = [(str(float(bound)), count) for bound, count in bounds]
        buckets.append(("+Inf", total))
        return HistogramMetricFamily(
            "reviewqueue_hold_to_decision_seconds",
            "Seconds from MultiMail holding a draft to its decision",
            buckets=buckets,
            sum_value=float(seconds),
        )

    def _outbox(self):
        items = GaugeMetricFamily("reviewqueue_outbox_items", "Outbox items by state", labels=["state"])
        age = GaugeMetricFamily(
            "reviewqueue_outbox_oldest_age_seconds", "Age of the oldest outbox item in each state", labels=["state"]
        )
        found = {status: (count, seconds) for status, count, seconds in _rows(_OUTBOX_SQL)}
        for state in OutboxItem.Status.values:
            count, seconds = found.get(state, (0, None))
            items.add_metric([state], count)
            if state != OutboxItem.Status.DONE:  # a done item's age says nothing
                age.add_metric([state], float(seconds or 0))
        return items, age

    def _counters(self):
        received = CounterMetricFamily(
            "reviewqueue_webhook_deliveries_received", "Webhook deliveries accepted", labels=["source"]
        )
        for labels, count in counters.counter_values(counters.WEBHOOKS_RECEIVED):
            received.add_metric([labels.get("source", "")], count)
        refused = CounterMetricFamily(
            "reviewqueue_webhook_deliveries_refused",
            "Webhook deliveries refused (bad signature, stale, malformed), by HTTP status",
            labels=["source", "status"],
        )
        for labels, count in counters.counter_values(counters.WEBHOOKS_REFUSED):
            refused.add_metric([labels.get("source", ""), labels.get("status", "")], count)
        errors = CounterMetricFamily(
            "reviewqueue_vendor_errors", "Failed calls to MultiMail and Intercom, by kind", labels=["vendor", "kind"]
        )
        for labels, count in counters.counter_values(counters.VENDOR_ERRORS):
            errors.add_metric([labels.get("vendor", ""), labels.get("kind", "")], count)
        return received, refused, errors


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(ReviewqueueCollector())
