"""A mailer whose server refuses every message (tests of the retry)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        raise smtplib.SMTPServerDisconnected("the mail server went away")
