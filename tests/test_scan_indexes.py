"""The scans that run on every sweep or callback have an index to use (issue 23's soak, bench/RESULTS.md).

The test database holds a handful of rows, where a sequential scan is always cheapest; with it
priced out (enable_seqscan off) the plan shows whether an index can serve the query at all. The
figures on a few thousand rows are in the commit that added these indexes.
"""

import pytest
from django.db import connection
from django.utils import timezone

from reviewqueue.routing.models import IntakeRecord
from reviewqueue.sla.sweep import _EXPIRED_SQL

pytestmark = pytest.mark.django_db


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_sla_expiry_scan_reads_a_mailboxs_pending_drafts_by_held_since():
    plan = _plan(_EXPIRED_SQL, {"pending": "pending", "now": timezone.now(), "batch": 50})
    assert "draft_pending_held_since" in plan, plan


def test_a_drafts_intake_record_is_found_by_draft_id():
    records = IntakeRecord.objects.select_related("token").filter(draft_id=1).order_by("created_at")[:1]
    sql, params = records.query.sql_with_params()
    plan = _plan(sql, params)
    assert "intakerecord_draft" in plan, plan
