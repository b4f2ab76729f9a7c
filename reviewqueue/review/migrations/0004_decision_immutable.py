"""The database keeps what was decided: only the carrying-out columns of a decision may change.

MultiMail's answer, written when the outbox carries the decision out, moves to a column named for
that (`carried_out_status`). Any other change to a decision row, and any DELETE, is refused by a
trigger, whoever connects; new columns are covered without touching it, since it compares the
whole row less the `carried_out_*` columns. TRUNCATE is refused too, except under the test suite's
flush setting that the audit log's trigger honours (audit migration 0002).
"""

from django.db import migrations, models

FORWARD = """
CREATE FUNCTION review_decision_keep_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND to_jsonb(NEW) - 'carried_out_status' = to_jsonb(OLD) - 'carried_out_status' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' AND current_setting('reviewqueue.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'a decision cannot be changed: % on % refused (only carried_out_status may change)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER review_decision_keep_decided BEFORE UPDATE OR DELETE ON review_decision
    FOR EACH ROW EXECUTE FUNCTION review_decision_keep_decided();
CREATE TRIGGER review_decision_no_truncate BEFORE TRUNCATE ON review_decision
    FOR EACH STATEMENT EXECUTE FUNCTION review_decision_keep_decided();
"""

REVERSE = """
DROP TRIGGER IF EXISTS review_decision_no_truncate ON review_decision;
DROP TRIGGER IF EXISTS review_decision_keep_decided ON review_decision;
DROP FUNCTION IF EXISTS review_decision_keep_decided();
"""


class Migration(migrations.Migration):
    dependencies = [("review", "0003_decision_context_check")]

    operations = [
        migrations.RenameField(model_name="decision", old_name="multimail_status", new_name="carried_out_status"),
        migrations.AlterField(
            model_name="decision",
            name="carried_out_status",
            field=models.CharField(
                blank=True, help_text="what MultiMail answered once the outbox carried the decision out", max_length=64
            ),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
