"""What became of each decision, as one SQL CASE, and the wait-time histogram's buckets.

Each outcome is one (name, condition) line, tried in order; the first that holds wins. An outcome
built by another flow (edits, expiry) is counted as soon as the columns it reads exist on
review.Decision: add its line here and a column of the same name to DailyRollup.
"""

import math

from reviewqueue.review.models import Decision, Draft

OUTCOMES = ("approved_unedited", "approved_edited", "changes_requested", "rejected", "expired")
OUTCOME_LABELS = {
    "approved_unedited": "approved unedited",
    "approved_edited": "approved with edits",
    "changes_requested": "changes requested",
    "rejected": "rejected",
    "expired": "expired",
}


def _has_field(name: str) -> bool:
    return any(field.name == name for field in Decision._meta.get_fields())


def _edited_condition() -> str | None:
    """SQL that holds for an approval carrying a reviewer's edit (review.DraftEdit, related name "edit")."""
    relation = next((r for r in Decision._meta.related_objects if r.name == "edit"), None)
    if relation is not None:
        table, column = relation.related_model._meta.db_table, relation.field.column
        return f"EXISTS (SELECT 1 FROM {table} e WHERE e.{column} = d.id)"  # noqa: S608 (model metadata)
    if _has_field("edited"):
        return "d.edited"
    return None


def counted_condition() -> str:
    """Which decisions count. The edited version of an "approved with edits" draft is approved by the
    outbox as the editor (review/edits.py): one reviewer's decision, counted once, on the original."""
    if any(field.name == "edit_of" for field in Draft._meta.get_fields()):
        return "dr.edit_of_id IS NULL"
    return "TRUE"


def outcome_conditions() -> list[tuple[str, str]]:
    """(outcome, SQL condition on review_decision `d`) in the order they are tried."""
    conditions = [
        # Expiry is a rejection made by reviewqueue itself (Decision.Origin.SYSTEM) when nobody decided.
        ("expired", "d.action = 'reject' AND d.origin = 'system'"),
        ("changes_requested", "d.action = 'request_changes'"),
        ("rejected", "d.action = 'reject'"),
    ]
    edited = _edited_condition()
    if edited:
        conditions.append(("approved_edited", f"d.action = 'approve' AND {edited}"))
    conditions.append(("approved_unedited", "d.action = 'approve'"))
    return conditions


def outcome_sql() -> str:
    whens = " ".join(f"WHEN {condition} THEN '{name}'" for name, condition in outcome_conditions())
    return f"CASE {whens} ELSE 'rejected' END"


# Stale-context catches: decisions where the reviewer was shown the conversation had moved on since
# the draft was written (the customer replied after it, or the approve-time guard caught a change).
STALE_CATCH_SQL = "(d.confirmed_changed OR dr.flag_customer_replied)"

# Wait histogram: log-spaced buckets from 1 s to 30 days (each about 12% wider than the last), so a
# percentile read from summed buckets is within about 6% of the exact one.
WAIT_BUCKETS = 128
WAIT_CEILING_SECONDS = 30 * 86400
_LOG_CEILING = math.log(WAIT_CEILING_SECONDS)
WAIT_BUCKET_SQL = (
    f"width_bucket(ln(greatest(extract(epoch FROM d.decided_at - coalesce(dr.received_at, dr.created_at)), 1)), "
    f"0, {_LOG_CEILING!r}, {WAIT_BUCKETS})"
)


def bucket_seconds(bucket: int) -> float:
    """The representative wait of a bucket: its geometric middle (bucket 0 is under a second)."""
    if bucket <= 0:
        return 0.0
    if bucket > WAIT_BUCKETS:
        return float(WAIT_CEILING_SECONDS)
    return math.exp((bucket - 0.5) * _LOG_CEILING / WAIT_BUCKETS)


def histogram_percentile(histogram: dict, fraction: float) -> float | None:
    """The wait below which `fraction` of the decisions were made, from a {bucket: count} histogram."""
    counts = sorted((int(bucket), count) for bucket, count in histogram.items() if count)
    total = sum(count for _, count in counts)
    if not total:
        return None
    rank = max(math.ceil(fraction * total), 1)
    seen = 0
    for bucket, count in counts:
        seen += count
        if seen >= rank:
            return bucket_seconds(bucket)
    return bucket_seconds(counts[-1][0])
