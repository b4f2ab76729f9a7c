"""manage.py mailbox_policy MAILBOX_ID [--target 30m] [--expire 24h] [--approvals 1|2]
[--slack-webhook URL] [--notify-email ADDR ...] — set a mailbox's policy and print the result."""

from django.core.management.base import BaseCommand, CommandError

from reviewqueue.audit.services import Actor
from reviewqueue.routing.models import Mailbox
from reviewqueue.sla.durations import BadDuration, parse_optional_duration
from reviewqueue.sla.policy import UNSET, PolicyChanges, PolicyInvalid, policy_of, policy_set, policy_view


class Command(BaseCommand):
    help = "Set a mailbox's decision target, expiry, approvals and escalation channels; prints the resulting policy."

    def add_arguments(self, parser):
        parser.add_argument("mailbox_id", help="MultiMail's mailbox id (as on Admin → Mailboxes)")
        parser.add_argument("--target", help="wait after which a draft is overdue: 90s, 30m, 4h, 2d, or off")
        parser.add_argument("--expire", help="wait after which a draft is rejected: 90s, 30m, 4h, 2d, or off")
        parser.add_argument("--approvals", type=int, choices=[1, 2], help="approvals required (2: four-eyes)")
        parser.add_argument("--slack-webhook", help="Slack incoming-webhook URL (https); '' or off removes it")
        parser.add_argument(
            "--notify-email", nargs="*", metavar="ADDR", help="addresses told of overdue drafts (none given: clears)"
        )

    def handle(self, *args, mailbox_id, **options):
        mailbox = Mailbox.objects.filter(mailbox_id=mailbox_id).first()
        if mailbox is None:
            raise CommandError(
                f"no mailbox {mailbox_id!r}: use MultiMail's mailbox id (Admin → Mailboxes, after a sync)"
            )
        changes = PolicyChanges(
            target=_duration(options["target"], "--target"),
            expiry=_duration(options["expire"], "--expire"),
            approvals_required=UNSET if options["approvals"] is None else options["approvals"],
            slack_webhook_url=_slack(options["slack_webhook"]),
            notify_emails=UNSET if options["notify_email"] is None else options["notify_email"],
        )
        try:
            policy_set(mailbox_id=mailbox_id, changes=changes, actor=Actor.system("manage.py mailbox_policy"))
        except PolicyInvalid as error:
            raise CommandError(str(error)) from None
        self.stdout.write(policy_text(mailbox, policy_view(policy_of(mailbox_id))))


def _duration(text: str | None, option: str):
    if text is None:
        return UNSET
    try:
        return parse_optional_duration(text)
    except BadDuration as error:
        raise CommandError(f"{option}: {error}") from None


def _slack(text: str | None):
    if text is None:
        return UNSET
    return "" if text.strip().lower() in ("", "off", "none") else text.strip()


def policy_text(mailbox: Mailbox, view: dict) -> str:
    lines = [
        f"mailbox {mailbox.mailbox_id} ({mailbox.address})",
        f"decision target: {view['target']}",
        f"expiry: {view['expiry']}",
        f"approvals required: {view['approvals_required']}",
        f"slack webhook: {view['slack_webhook'] or 'none'}",
        f"notify emails: {', '.join(view['notify_emails']) or 'none'}",
    ]
    return "\n".join(lines)
