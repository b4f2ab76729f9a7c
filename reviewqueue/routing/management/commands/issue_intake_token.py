from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks.services import endpoint_set
from reviewqueue.outbound import OutboundURLRefused, check_outbound_url
from reviewqueue.routing.services import intake_token_issue


class Command(BaseCommand):
    help = (
        "Print a new intake token named NAME, for an AI agent calling POST /api/v1/drafts. Shown only once. "
        "With --callback-url, a second line prints the callback signing secret (callback secret: whsec_…)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="which agent or connector uses it")
        parser.add_argument(
            "--kinds",
            default="",
            help="comma-separated kinds of draft it may submit (e.g. refund,shipping); "
            "without it, only drafts without a kind",
        )
        parser.add_argument(
            "--callback-url",
            default="",
            help="https URL the agent is told of its drafts' outcomes at (signed callbacks); "
            "its host must resolve to a public address unless CALLBACK_ALLOW_PRIVATE_NETWORKS=1",
        )

    def handle(self, *args, name, kinds, callback_url, **options):
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters")
        actor = Actor.system("issue_intake_token")
        try:
            if callback_url:
                check_outbound_url(callback_url)  # before anything is issued
        except OutboundURLRefused as error:
            raise CommandError(f"--callback-url: {error}") from error
        with transaction.atomic():  # no token without the callback it was asked for
            try:
                token, raw = intake_token_issue(name=name, kinds=kinds.split(","), actor=actor)
            except ValueError as error:
                raise CommandError(f"--kinds: {error}") from error
            secret = None
            if callback_url:
                try:
                    _, secret = endpoint_set(token=token, url=callback_url, actor=actor)
                except OutboundURLRefused as error:
                    raise CommandError(f"--callback-url: {error}") from error
        self.stdout.write(raw)
        if secret:
            self.stdout.write(f"callback secret: {secret}")
