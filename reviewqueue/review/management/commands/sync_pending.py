"""`python manage.py sync_pending`: one pull of MultiMail's pending drafts now (the beat poll, by hand)."""

from django.core.management.base import BaseCommand, CommandError

from reviewqueue.review.poll import INGEST_CONCURRENCY, pending_sync


class Command(BaseCommand):
    help = "Pull MultiMail's pending drafts into the review queue now (what the periodic poll does)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency", type=int, default=INGEST_CONCURRENCY, help="simultaneous fetches (default %(default)s)"
        )

    def handle(self, *args, concurrency: int, **options):
        from reviewqueue.integrations.multimail.client import MultiMailError

        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        try:
            result = pending_sync(concurrency=concurrency)
        except MultiMailError as error:
            raise CommandError(f"MultiMail: {error}") from None
        if result.skipped:
            raise CommandError("another poll is running (it holds the poll lock); try again shortly")
        self.stdout.write(
            f"pending in MultiMail: {result.pending}; new drafts: {result.received}; fetched: {result.fetched}; "
            f"decided elsewhere: {result.decided_elsewhere}; errors: {len(result.errors)}"
        )
        for error in result.errors[:20]:
            self.stderr.write(f"  {error}")
        if result.errors:
            raise CommandError(f"{len(result.errors)} draft(s) could not be loaded; the next poll retries them")
