"""The action index with pattern operators: an action prefix filter ("role.", "login.") becomes an
index range; with the default operators a prefix matching few events read the whole log."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0007_reason_search'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='auditevent',
            name='audit_audit_action_4839b2_idx',
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action', 'seq'], name='audit_event_action_seq', opclasses=['varchar_pattern_ops', 'int8_ops']),
        ),
    ]
