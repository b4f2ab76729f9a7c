"""Digests: a person's email of the drafts waiting (and overdue) in their mailboxes.

- `digest_preference_set(user=, frequency=, send_at=, tz_name=, mailbox_ids=, origin=)` — audited.
- `digests_send_due(now=None) -> DigestRunSummary` — what beat runs every minute: each person whose
  digest period has begun gets it once for that period; an empty digest is not sent (recorded as empty).
- `digest_contents(mailbox_ids=, now=) -> DigestContents` — what a digest would say.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, time

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.digests.models import DigestPreference, DigestRun
from reviewqueue.digests.schedule import latest_moment, zone
from reviewqueue.review.models import Draft
from reviewqueue.review.presentation import age_text
from reviewqueue.sla.models import MailboxPolicy

log = logging.getLogger(__name__)

DRAFTS_LISTED = 20  # the longest-waiting drafts a digest names; the counts cover the rest


def digest_preference_set(
    *, user, frequency: str, send_at: time, tz_name: str, mailbox_ids: list[str], origin: RequestOrigin | None = None
) -> DigestPreference:
    """Save a person's digest choice (ValueError for an unknown frequency or timezone); audited old and new."""
    if frequency not in DigestPreference.Frequency.values:
        raise ValueError(f"frequency must be one of {', '.join(DigestPreference.Frequency.values)}")
    zone(tz_name)
    now = timezone.now()
    with transaction.atomic():
        preference = DigestPreference.objects.select_for_update().filter(user=user).first()
        old = _described(preference)
        if preference is None:
            preference = DigestPreference(user=user)
        preference.frequency, preference.send_at, preference.time_zone = frequency, send_at, tz_name
        preference.mailbox_ids = sorted(set(mailbox_ids))
        preference.active_since = preference.updated_at = now
        preference.save()
        audit_record(
            actor=Actor.person(user),
            action="digest.preference_changed",
            target_type="user",
            target_id=user.pk,
            payload={"old": old, "new": _described(preference)},
            origin=origin,
        )
    return preference


def _described(preference: DigestPreference | None) -> dict | None:
    if preference is None:
        return None
    return {
        "frequency": preference.frequency,
        "send_at": preference.send_at.strftime("%H:%M"),
        "timezone": preference.time_zone,
        "mailbox_ids": preference.mailbox_ids,
    }


@dataclass(frozen=True)
class MailboxLine:
    mailbox_id: str
    waiting: int
    overdue: int
    oldest_age: str


@dataclass(frozen=True)
class DraftLine:
    draft_id: int
    subject: str
    mailbox: str
    age: str
    overdue: bool
    url: str


@dataclass(frozen=True)
class DigestContents:
    mailboxes: list[MailboxLine]
    drafts: list[DraftLine]

    @property
    def waiting(self) -> int:
        return sum(line.waiting for line in self.mailboxes)

    @property
    def overdue(self) -> int:
        return sum(line.overdue for line in self.mailboxes)

    @property
    def is_empty(self) -> bool:
        return self.waiting == 0


_COUNTS_SQL = """
SELECT d.mailbox_id, count(*), min(d.waiting_since),
       count(*) FILTER (WHERE p.target IS NOT NULL AND d.waiting_since <= %(now)s - p.target)
  FROM {draft} d LEFT JOIN {policy} p ON p.mailbox_id = d.mailbox_id
 WHERE d.status = %(pending)s AND (cardinality(%(mailboxes)s::text[]) = 0 OR d.mailbox_id = ANY(%(mailboxes)s))
 GROUP BY d.mailbox_id ORDER BY d.mailbox_id
"""


def digest_contents(*, mailbox_ids: list[str], now: datetime) -> DigestContents:
    """The counts per mailbox (one aggregate query) and the longest-waiting drafts (one more)."""
    sql = _COUNTS_SQL.format(draft=Draft._meta.db_table, policy=MailboxPolicy._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "pending": Draft.Status.PENDING, "mailboxes": list(mailbox_ids)})
        rows = cursor.fetchall()
    mailboxes = [
        MailboxLine(mailbox, waiting, overdue, age_text(oldest, now)) for mailbox, waiting, oldest, overdue in rows
    ]
    drafts = Draft.objects.filter(status=Draft.Status.PENDING).order_by("waiting_since", "id")
    if mailbox_ids:
        drafts = drafts.filter(mailbox_id__in=mailbox_ids)
    targets = dict(MailboxPolicy.objects.filter(target__isnull=False).values_list("mailbox_id", "target"))
    site = (settings.SITE_URL or "").rstrip("/")
    lines = [
        DraftLine(
            draft_id=draft.pk,
            subject=draft.subject or draft.email_id,
            mailbox=draft.mailbox_address or draft.mailbox_id,
            age=age_text(draft.waiting_since, now),
            overdue=draft.mailbox_id in targets and draft.waiting_since <= now - targets[draft.mailbox_id],
            url=f"{site}/queue/drafts/{draft.pk}/",
        )
        for draft in drafts.only("id", "subject", "email_id", "mailbox_id", "mailbox_address", "waiting_since")[
            :DRAFTS_LISTED
        ]
    ]
    return DigestContents(mailboxes=mailboxes, drafts=lines)


@dataclass
class DigestRunSummary:
    sent: list[int] = field(default_factory=list)  # user ids
    empty: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # the mail server refused; tried again next minute


def digests_send_due(*, now: datetime | None = None) -> DigestRunSummary:
    """Send every digest whose period has begun and that nobody has handled yet (see DigestRun)."""
    now = now or timezone.now()
    summary = DigestRunSummary()
    if not settings.EMAIL_CONFIGURED:
        return summary  # nothing could go out; the periods stay unhandled until EMAIL_URL is set
    preferences = DigestPreference.objects.exclude(frequency=DigestPreference.Frequency.OFF).select_related("user")
    for preference in preferences:
        moment = latest_moment(
            frequency=preference.frequency, send_at=preference.send_at, tz_name=preference.time_zone, now=now
        )
        if moment is None or moment < preference.active_since or not preference.user.email:
            continue
        try:
            outcome = _digest_run(preference, moment, now)
        except Exception:  # one person's mail server failure must not hold back the others' digests
            log.exception("digest not sent", extra={"user_id": preference.user_id})
            summary.failed.append(preference.user_id)
            continue
        if outcome == DigestRun.Outcome.SENT:
            summary.sent.append(preference.user_id)
        elif outcome == DigestRun.Outcome.EMPTY:
            summary.empty.append(preference.user_id)
    return summary


def _digest_run(preference: DigestPreference, moment: datetime, now: datetime) -> str | None:
    """Claim the period and send, in one transaction; None when the period was handled already.

    The mail goes out inside the transaction on purpose: the claim commits only once the mail server
    took the message, so a refused send is tried again next minute, and a second beat process waits on
    the claim's unique index and then finds the period handled. (A crash between the server's yes and
    the commit would send it again: once per period at least, as email allows.)
    """
    contents = digest_contents(mailbox_ids=preference.mailbox_ids, now=now)
    outcome = DigestRun.Outcome.EMPTY if contents.is_empty else DigestRun.Outcome.SENT
    try:
        with transaction.atomic():
            DigestRun.objects.create(
                user_id=preference.user_id,
                period_start=moment,
                outcome=outcome,
                drafts_waiting=contents.waiting,
                drafts_overdue=contents.overdue,
            )
            if outcome == DigestRun.Outcome.SENT:
                _digest_email(preference, contents, moment).send(fail_silently=False)
    except IntegrityError:
        return None  # another process handled this period
    return outcome


def _digest_email(preference: DigestPreference, contents: DigestContents, moment: datetime) -> EmailMessage:
    local = moment.astimezone(zone(preference.time_zone))
    context = {
        "contents": contents,
        "user": preference.user,
        "preference": preference,
        "local_time": local,
        "profile_url": f"{(settings.SITE_URL or '').rstrip('/')}/accounts/profile/",
    }
    overdue = f", {contents.overdue} overdue" if contents.overdue else ""
    subject = f"reviewqueue: {contents.waiting} draft{'s' if contents.waiting != 1 else ''} waiting{overdue}"
    body = render_to_string("digests/digest_email.txt", context)
    return EmailMessage(subject=subject, body=body, to=[preference.user.email])
