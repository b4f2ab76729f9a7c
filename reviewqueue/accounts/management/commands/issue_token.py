from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reviewqueue.accounts.models import ApiTokenPolicy
from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor


class Command(BaseCommand):
    help = (
        "Print a new personal API token for USERNAME (for the review API). It is shown only once: run this "
        "in the owner's own shell, as only the owner may hold it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to recognise the token by")
        parser.add_argument(
            "--days",
            type=int,
            help=f"how long it lasts (default {ApiTokenPolicy.DEFAULT_DAYS}, at most the maximum an admin set)",
        )

    def handle(self, *args, username, name, days, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}; create one with grant_role")
        try:
            token, raw = api_token_issue(user=user, name=name, days=days, actor=Actor.system("issue_token"))
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC")
        self.stdout.write(raw)
