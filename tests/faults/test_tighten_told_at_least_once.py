"""Spot checks tighten a mailbox while its escalation e-mail cannot be sent (the SMTP server down): the
tighten stands, and the "tightened" message is sent once the server is back, by the spot-check sweep,
exactly once (reviewqueue/oversight/tighten_notify.py). Before, it was tried once and lost.

The SMTP fault is real: Django's SMTP backend pointed at a closed port.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.oversight.models import TighteningNotice
from reviewqueue.oversight.spot_checks import sends_learn, spot_checks_evaluate
from reviewqueue.oversight.tighten_notify import notices_retry
from reviewqueue.routing.models import Mailbox
from reviewqueue.sla.models import MailboxPolicy
from tests.livesystem import free_port
from tests.oversight import test_spot_checks as spot

pytestmark = pytest.mark.django_db

sandbox, monitored = spot.sandbox, spot.monitored


def smtp_down() -> dict:
    """Django's SMTP mailer at a port nobody listens on: a mail server that is down."""
    options = {"host": "127.0.0.1", "port": free_port(), "timeout": 2}
    return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}}


def test_a_tighten_message_lost_to_smtp_is_sent_once_the_server_is_back(
    sandbox, monitored, reviewer, mailoutbox, settings
):
    MailboxPolicy.objects.create(mailbox_id=monitored, notify_emails=["leads@fernhill.example"])
    spot.send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    spot.check_all(monitored, reviewer, rejects=5)
    test_mailers = settings.MAILERS
    settings.MAILERS = smtp_down()

    assert spot_checks_evaluate(monitored) is not None
    assert Mailbox.objects.get(mailbox_id=monitored).oversight_mode == "gated_send"  # the tighten stands
    told = AuditEvent.objects.get(action="oversight.tightened").payload["told"]
    assert told["email"].startswith("retrying: ConnectionRefusedError"), told
    (notice,) = TighteningNotice.objects.all()
    assert (notice.status, notice.attempts) == ("pending", 1)

    assert notices_retry() == 0  # not due yet: the backoff holds
    settings.MAILERS = test_mailers  # the SMTP server is back
    TighteningNotice.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert notices_retry() == 1
    assert notices_retry() == 0  # done: never sent again
    (mail,) = mailoutbox
    assert mail.to == ["leads@fernhill.example"] and "back to gated_send" in mail.body
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("done", 2)
    event = AuditEvent.objects.get(action="oversight.tightening_told")
    assert event.payload == {"channel": "email", "outcome": "told", "attempts": 2}


def test_a_message_that_keeps_failing_ends_failed_and_audited(sandbox, monitored, reviewer, settings):
    MailboxPolicy.objects.create(mailbox_id=monitored, notify_emails=["leads@fernhill.example"])
    spot.send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    spot.check_all(monitored, reviewer, rejects=5)
    settings.MAILERS = smtp_down()
    spot_checks_evaluate(monitored)
    TighteningNotice.objects.update(attempts=7, next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert notices_retry() == 0
    (notice,) = TighteningNotice.objects.all()
    assert notice.status == "failed" and "ConnectionRefusedError" in notice.last_error
    outcome = AuditEvent.objects.get(action="oversight.tightening_told").payload["outcome"]
    assert outcome.startswith("failed: ConnectionRefusedError")
