"""What a decision records about the conversation check: the override, and a re-check Intercom could not answer."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("review", "0002_pending_queue_index")]

    operations = [
        migrations.AddField(
            model_name="decision",
            name="confirmed_changed",
            field=models.BooleanField(
                default=False,
                help_text="approved with confirm_changed: past the check that the conversation had not changed",
            ),
        ),
        migrations.AddField(
            model_name="decision",
            name="context_recheck_error",
            field=models.TextField(
                blank=True,
                help_text="why Intercom could not re-check a stale conversation at approve time (approved anyway)",
            ),
        ),
        migrations.AlterField(
            model_name="decision",
            name="snapshot_id",
            field=models.BigIntegerField(
                blank=True,
                help_text="the conversation snapshot the reviewer saw (none: they were shown none)",
                null=True,
            ),
        ),
    ]
