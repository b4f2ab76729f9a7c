"""Signed checkpoints are append-only too: deleting the latest one would hide a cut tail."""

from django.db import migrations

FORWARD = """
CREATE TRIGGER audit_checkpoint_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"""
REVERSE = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_no_update_or_delete ON audit_auditcheckpoint;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_email_id_index")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
