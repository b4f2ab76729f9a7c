"""A version number that every change to what intake keeps in memory moves (routing/intake_cache.py).

Triggers move it, so no writer can forget to: a token issued, revoked or otherwise changed (its
last_used_at aside), a routing rule set saved or removed, a mailbox added, removed or given another
oversight mode, and any of these tables truncated. Each new value comes from a sequence, so a
rolled-back change never hands out a number again, and it is written in the writer's transaction:
a reader sees it only once the change itself is visible.
"""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE routing_intake_reads_seq;
CREATE TABLE routing_intake_reads_version (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO routing_intake_reads_version (id, version) VALUES (1, nextval('routing_intake_reads_seq'));

CREATE FUNCTION routing_intake_reads_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE routing_intake_reads_version SET version = nextval('routing_intake_reads_seq') WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER intake_reads_token_added_or_removed AFTER INSERT OR DELETE ON routing_intaketoken
    FOR EACH ROW EXECUTE FUNCTION routing_intake_reads_changed();
CREATE TRIGGER intake_reads_token_changed AFTER UPDATE ON routing_intaketoken
    FOR EACH ROW WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION routing_intake_reads_changed();
CREATE TRIGGER intake_reads_tokens_truncated AFTER TRUNCATE ON routing_intaketoken
    FOR EACH STATEMENT EXECUTE FUNCTION routing_intake_reads_changed();

CREATE TRIGGER intake_reads_ruleset_changed AFTER INSERT OR UPDATE OR DELETE ON routing_routingruleset
    FOR EACH ROW EXECUTE FUNCTION routing_intake_reads_changed();
CREATE TRIGGER intake_reads_rulesets_truncated AFTER TRUNCATE ON routing_routingruleset
    FOR EACH STATEMENT EXECUTE FUNCTION routing_intake_reads_changed();

CREATE TRIGGER intake_reads_mailbox_added_or_removed AFTER INSERT OR DELETE ON routing_mailbox
    FOR EACH ROW EXECUTE FUNCTION routing_intake_reads_changed();
CREATE TRIGGER intake_reads_mailbox_mode_changed AFTER UPDATE ON routing_mailbox
    FOR EACH ROW WHEN (
        OLD.oversight_mode IS DISTINCT FROM NEW.oversight_mode OR OLD.mailbox_id IS DISTINCT FROM NEW.mailbox_id
    )
    EXECUTE FUNCTION routing_intake_reads_changed();
CREATE TRIGGER intake_reads_mailboxes_truncated AFTER TRUNCATE ON routing_mailbox
    FOR EACH STATEMENT EXECUTE FUNCTION routing_intake_reads_changed();
"""

BACKWARD = """
DROP TRIGGER intake_reads_token_added_or_removed ON routing_intaketoken;
DROP TRIGGER intake_reads_token_changed ON routing_intaketoken;
DROP TRIGGER intake_reads_tokens_truncated ON routing_intaketoken;
DROP TRIGGER intake_reads_ruleset_changed ON routing_routingruleset;
DROP TRIGGER intake_reads_rulesets_truncated ON routing_routingruleset;
DROP TRIGGER intake_reads_mailbox_added_or_removed ON routing_mailbox;
DROP TRIGGER intake_reads_mailbox_mode_changed ON routing_mailbox;
DROP TRIGGER intake_reads_mailboxes_truncated ON routing_mailbox;
DROP FUNCTION routing_intake_reads_changed();
DROP TABLE routing_intake_reads_version;
DROP SEQUENCE routing_intake_reads_seq;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0002_intake_kinds_and_saved_modes"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
