"""manage.py sla_sweep — one SLA sweep now (beat runs it every minute): escalate overdue drafts once,
re-drive lost escalation messages, expire drafts past their mailbox's expiry."""

from django.core.management.base import BaseCommand

from reviewqueue.sla.sweep import sla_sweep


class Command(BaseCommand):
    help = "Run one SLA sweep: escalate overdue drafts, expire drafts past their expiry."

    def handle(self, *args, **options):
        self.stdout.write(str(sla_sweep()))
