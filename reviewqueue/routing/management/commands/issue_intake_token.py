from django.core.management.base import BaseCommand, CommandError

from reviewqueue.audit.services import Actor
from reviewqueue.routing.services import intake_token_issue


class Command(BaseCommand):
    help = "Print a new intake token named NAME, for an AI agent calling POST /api/v1/drafts. Shown only once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="which agent or connector uses it")
        parser.add_argument(
            "--kinds",
            default="",
            help="comma-separated kinds of draft it may submit (e.g. refund,shipping); "
            "without it, only drafts without a kind",
        )

    def handle(self, *args, name, kinds, **options):
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters")
        try:
            _, raw = intake_token_issue(name=name, kinds=kinds.split(","), actor=Actor.system("issue_intake_token"))
        except ValueError as error:
            raise CommandError(f"--kinds: {error}") from error
        self.stdout.write(raw)
