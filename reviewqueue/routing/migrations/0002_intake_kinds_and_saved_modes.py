from django.db import migrations, models


def allow_kinds_already_used(apps, schema_editor):
    """Tokens issued before kinds were listed keep the kinds they have already submitted, and no more."""
    IntakeToken = apps.get_model("routing", "IntakeToken")
    IntakeRecord = apps.get_model("routing", "IntakeRecord")
    for token in IntakeToken.objects.all():
        used = IntakeRecord.objects.filter(token=token).exclude(kind="").values_list("kind", flat=True).distinct()
        token.kinds = sorted(used)
        token.save(update_fields=["kinds"])


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="intaketoken",
            name="kinds",
            field=models.JSONField(default=list),
        ),
        migrations.AddField(
            model_name="routingruleset",
            name="mailbox_modes",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(allow_kinds_already_used, migrations.RunPython.noop),
    ]
