"""Digests on real PostgreSQL: due at the person's local time, once per period, never empty."""

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection

from reviewqueue.digests.models import DigestPreference, DigestRun
from reviewqueue.digests.services import digest_preference_set, digests_send_due
from reviewqueue.review.models import Draft
from reviewqueue.sla.models import MailboxPolicy
from tests.conftest import make_user
from tests.review.conftest import received_draft

# 08:00 in Berlin on 7 December 2026 is 07:00 UTC.
BERLIN_EIGHT = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def prefer(user, *, frequency="daily", at=time(8, 0), tz="Europe/Berlin", mailboxes=(), since=None):
    """`since`: when the person chose it (default: an hour before the first 08:00 Berlin the tests look at)."""
    preference = digest_preference_set(
        user=user, frequency=frequency, send_at=at, tz_name=tz, mailbox_ids=list(mailboxes)
    )
    DigestPreference.objects.filter(pk=preference.pk).update(active_since=since or BERLIN_EIGHT - timedelta(hours=1))
    return preference


def waiting(email_id: str, mailbox: str = "mbx_1", hours: float = 1, now=BERLIN_EIGHT, **fields) -> Draft:
    return received_draft(email_id, mailbox_id=mailbox, waiting_since=now - timedelta(hours=hours), **fields)


@pytest.mark.django_db
def test_a_daily_digest_goes_out_at_the_persons_local_time_and_once_per_day(reviewer):
    prefer(reviewer)
    waiting("em_1", subject="Refund for order 1001")
    assert digests_send_due(now=BERLIN_EIGHT - timedelta(minutes=1)).sent == []  # 07:59 in Berlin
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(seconds=20)).sent == [reviewer.pk]
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(minutes=1)).sent == []  # same day: already sent
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(hours=23)).sent == []
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(days=1)).sent == [reviewer.pk]  # the next morning
    assert len(mail.outbox) == 2
    [message, _] = mail.outbox
    assert message.to == [reviewer.email]
    assert message.subject == "reviewqueue: 1 draft waiting"
    assert "Refund for order 1001" in message.body and "/queue/drafts/" in message.body


@pytest.mark.django_db
def test_people_in_different_timezones_get_their_digest_at_their_own_eight(django_user_model):
    berlin = make_user(django_user_model, "bea", "reviewer")
    new_york = make_user(django_user_model, "ned", "reviewer")
    prefer(berlin, tz="Europe/Berlin")
    prefer(new_york, tz="America/New_York")
    waiting("em_1")
    assert digests_send_due(now=BERLIN_EIGHT).sent == [berlin.pk]
    assert digests_send_due(now=datetime(2026, 12, 7, 12, 59, tzinfo=UTC)).sent == []  # 07:59 in New York
    assert digests_send_due(now=datetime(2026, 12, 7, 13, 0, tzinfo=UTC)).sent == [new_york.pk]
    assert [m.to for m in mail.outbox] == [[berlin.email], [new_york.email]]


@pytest.mark.django_db
def test_an_empty_digest_is_not_sent_but_its_period_is_over(reviewer):
    prefer(reviewer)
    summary = digests_send_due(now=BERLIN_EIGHT)
    assert (summary.sent, summary.empty) == ([], [reviewer.pk])
    assert mail.outbox == []
    waiting("em_late", hours=0)  # arrives later the same day: the next digest tells of it, not a second one today
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(hours=1)).sent == []
    assert list(DigestRun.objects.values_list("outcome", flat=True)) == ["empty"]


@pytest.mark.django_db
def test_a_digest_covers_only_the_chosen_mailboxes_and_counts_the_overdue(reviewer):
    MailboxPolicy.objects.create(mailbox_id="mbx_billing", target=timedelta(minutes=30))
    prefer(reviewer, mailboxes=["mbx_billing"])
    waiting("em_old", mailbox="mbx_billing", hours=2, subject="Old invoice")
    waiting("em_new", mailbox="mbx_billing", hours=0.1, subject="New invoice")
    waiting("em_other", mailbox="mbx_shipping", hours=5, subject="Elsewhere")
    digests_send_due(now=BERLIN_EIGHT)
    [message] = mail.outbox
    assert message.subject == "reviewqueue: 2 drafts waiting, 1 overdue"
    assert "[OVERDUE] Old invoice" in message.body and "- New invoice" in message.body
    assert "Elsewhere" not in message.body


@pytest.mark.django_db
def test_turning_a_digest_on_after_its_time_waits_for_the_next_one(reviewer):
    prefer(reviewer, since=BERLIN_EIGHT + timedelta(hours=2))  # switched on at 10:00 Berlin
    waiting("em_1")
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(hours=3)).sent == []
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(days=1)).sent == [reviewer.pk]


@pytest.mark.django_db
def test_an_hourly_digest_goes_out_each_hour_at_its_minute(reviewer):
    since = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    prefer(reviewer, frequency="hourly", at=time(0, 15), tz="Asia/Kolkata", since=since)  # :15 in Kolkata is :45 UTC
    waiting("em_1")
    sent = [digests_send_due(now=datetime(2026, 12, 7, 9, minute, tzinfo=UTC)).sent for minute in (44, 45, 50)]
    assert sent == [[], [reviewer.pk], []]
    assert digests_send_due(now=datetime(2026, 12, 7, 10, 45, tzinfo=UTC)).sent == [reviewer.pk]


@pytest.mark.django_db
def test_a_person_without_an_email_address_gets_no_digest(django_user_model):
    nobody = django_user_model.objects.create_user(username="nomail", password="x" * 20)
    prefer(nobody)
    waiting("em_1")
    assert digests_send_due(now=BERLIN_EIGHT).sent == []


@pytest.mark.django_db
def test_a_refused_send_is_tried_again_next_minute(reviewer, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.digests.failing_mailer.RefusingBackend"}}
    prefer(reviewer)
    waiting("em_1")
    assert digests_send_due(now=BERLIN_EIGHT).failed == [reviewer.pk]
    assert not DigestRun.objects.exists()  # the period is not marked handled
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert digests_send_due(now=BERLIN_EIGHT + timedelta(minutes=1)).sent == [reviewer.pk]


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_racing_send_one_digest(reviewer, settings, tmp_path):
    # A file mailer both threads share (locmem's outbox is per test, not per thread-safe run).
    settings.MAILERS = {
        "default": {
            "BACKEND": "reviewqueue.digests.mailcatcher.CatchingEmailBackend",
            "OPTIONS": {"directory": str(tmp_path)},
        }
    }
    prefer(reviewer)
    waiting("em_1")
    barrier, results = threading.Barrier(2), []

    def run():
        barrier.wait()
        try:
            results.append(digests_send_due(now=BERLIN_EIGHT).sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [[], [reviewer.pk]]
    assert len(list(tmp_path.glob("*.eml"))) == 1


@pytest.mark.django_db
def test_without_email_url_no_digest_is_attempted_and_its_period_waits(reviewer, settings):
    settings.EMAIL_CONFIGURED = False
    prefer(reviewer)
    waiting("em_1")
    summary = digests_send_due(now=BERLIN_EIGHT)
    assert (summary.sent, summary.empty, summary.failed) == ([], [], [])
    assert not DigestRun.objects.exists()


def test_without_email_url_a_send_fails_saying_so():
    import smtplib

    from django.core.mail import EmailMessage

    from reviewqueue.digests.mailcatcher import NotConfiguredEmailBackend

    with pytest.raises(smtplib.SMTPException, match="EMAIL_URL is not set"):
        NotConfiguredEmailBackend().send_messages([EmailMessage("s", "b", to=["a@example.com"])])
