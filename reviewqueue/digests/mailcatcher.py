"""Mail caught on this machine instead of sent (EMAIL_URL=file:///dir, what `make run` uses).

Each message is one .eml file in MAIL_CATCHER_DIR; /mail/ lists them while DEBUG is on.
"""

import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class CatchingEmailBackend(BaseEmailBackend):
    def __init__(self, *, directory: str, **kwargs):
        super().__init__(**kwargs)
        self.directory = directory

    def send_messages(self, email_messages) -> int:
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
            (directory / name).write_bytes(message.message().as_bytes())
        return len(email_messages)


class NotConfiguredEmailBackend(BaseEmailBackend):
    """EMAIL_URL is unset: refuse to send, saying so, rather than drop the message."""

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        raise smtplib.SMTPException("EMAIL_URL is not set: no mail can be sent (see README, Configuration)")


@dataclass(frozen=True)
class CaughtMail:
    name: str
    sent_at: datetime
    sender: str
    to: str
    subject: str
    body: str


def caught_mail(*, limit: int = 50) -> list[CaughtMail]:
    """The newest caught messages first."""
    directory = Path(settings.MAIL_CATCHER_DIR or "")
    if not settings.MAIL_CATCHER_DIR or not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:limit]:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        part = message.get_body(preferencelist=("plain", "html"))
        found.append(
            CaughtMail(
                name=path.name,
                sent_at=datetime.strptime(path.name.split("-")[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC),
                sender=str(message["From"] or ""),
                to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""),
                body=part.get_content() if part is not None else "",
            )
        )
    return found
