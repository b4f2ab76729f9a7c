"""Reconciliation matches MultiMail's entries to our decisions by MultiMail email id."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_search_indexes")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX audit_event_email_id_seq ON audit_auditevent ((payload->>'email_id'), seq)",
            "DROP INDEX IF EXISTS audit_event_email_id_seq",
        )
    ]
