"""Indexes for the auditor pages: full-text search in reasons, and the payload keys pages filter on.

Each payload index carries seq, so a filtered page walks newest-first straight off the index.
"""

from django.db import migrations

PAYLOAD_KEYS = ("mailbox_id", "conversation_id", "draft_id", "decision_id")

FORWARD = [
    "CREATE INDEX audit_event_reason_fts ON audit_auditevent "
    "USING gin (to_tsvector('english', coalesce(payload->>'reason', '')))",
    "CREATE INDEX audit_event_actor_label_seq ON audit_auditevent (actor_label, seq)",
    "CREATE INDEX audit_event_target_seq ON audit_auditevent (target_type, target_id, seq)",
    *[f"CREATE INDEX audit_event_{key}_seq ON audit_auditevent ((payload->>'{key}'), seq)" for key in PAYLOAD_KEYS],
]
REVERSE = [
    "DROP INDEX IF EXISTS audit_event_reason_fts",
    "DROP INDEX IF EXISTS audit_event_actor_label_seq",
    "DROP INDEX IF EXISTS audit_event_target_seq",
    *[f"DROP INDEX IF EXISTS audit_event_{key}_seq" for key in PAYLOAD_KEYS],
]


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_checkpoints_verifications_reconciliation")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
