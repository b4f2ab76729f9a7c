import sys

from django.core.management.base import BaseCommand, CommandError

from reviewqueue.audit.services import audit_checkpoint_store, audit_verification_run, audit_verification_start


class Command(BaseCommand):
    help = "Walk the audit chain and the signed checkpoints. Exit 0 when intact; else 1 and the first bad event."

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="after an intact verification, sign and store a checkpoint of the current head",
        )

    def handle(self, *args, checkpoint: bool, **options):
        verification = audit_verification_start(label="verify_audit command")
        verification = audit_verification_run(verification_id=verification.pk)
        if verification.status != verification.Status.INTACT:
            self.stderr.write(verification.detail)
            if checkpoint:
                self.stderr.write("no checkpoint stored: the chain is not intact")
            sys.exit(1)
        self.stdout.write(verification.detail)
        if checkpoint:
            stored = audit_checkpoint_store()
            if stored is None:
                raise CommandError("no checkpoint stored: the audit log is empty")
            self.stdout.write(f"checkpoint stored at #{stored.seq} {stored.head_hash}")
