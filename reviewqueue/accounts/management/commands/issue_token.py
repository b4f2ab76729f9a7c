from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor


class Command(BaseCommand):
    help = "Print a new personal API token for USERNAME (for the review API). It is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to recognise the token by")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}; create one with grant_role")
        _, raw = api_token_issue(user=user, name=name, actor=Actor.system("issue_token"))
        self.stdout.write(raw)
