"""The pending queue as its own small index, with what its filters read, for index-only scans.

The queue page counts the pending drafts and picks a page of ids under any mix of filters (mailbox,
one flag). Without this, a flag filter read every draft ever received (a sequential scan: 30-50 ms
at 10,000 pending and as many decided, growing with the decided ones, which are never removed), and
a mailbox + flag filter read a heap page per pending draft of the mailbox. Partial: only pending
drafts are in it, so its size follows the queue, not the history.
"""

from django.db import migrations

FLAGS = ("customer_replied", "recipient_not_contact", "spam", "attachments", "unknown_links")


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX draft_pending_queue ON review_draft (waiting_since, id) "
            f"INCLUDE (mailbox_id, {', '.join(f'flag_{flag}' for flag in FLAGS)}) WHERE status = 'pending'",
            "DROP INDEX IF EXISTS draft_pending_queue",
        )
    ]
