import os

from django.core.management.base import BaseCommand, CommandError

from reviewqueue.accounts.roles import ROLES
from reviewqueue.accounts.services import role_grant, user_ensure
from reviewqueue.audit.services import Actor


class Command(BaseCommand):
    help = "Give USERNAME a role (reviewer, auditor, admin), creating the user when missing."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=ROLES)
        parser.add_argument("--password-env", metavar="VAR", help="set the password from this environment variable")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, password_env, email, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"environment variable {password_env} is empty or not set")
        actor = Actor.system("grant_role")
        user, created = user_ensure(username=username, email=email, password=password, actor=actor)
        granted = role_grant(user=user, role=role, actor=actor)
        state = "created, " if created else ""
        result = "granted" if granted else "already held"
        self.stdout.write(f"{username}: {state}role {role} {result}")
