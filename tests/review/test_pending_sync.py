import pytest
from django.core.management import CommandError, call_command

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.models import Draft
from reviewqueue.review.poll import POLL_LOCK_KEY, pending_sync, poll_last_success

pytestmark = pytest.mark.django_db(transaction=True)  # the poll fetches on threads, each with its own connection


def sync(multimail, intercom, **kwargs):
    return pending_sync(multimail=multimail.client(), intercom=intercom.client(), **kwargs)


def test_the_poll_receives_and_fetches_every_pending_draft_once(broker, multimail, intercom):
    for n in range(12):
        multimail.add_email(f"em_{n}")
    first = sync(multimail, intercom, concurrency=4)
    second = sync(multimail, intercom, concurrency=4)
    assert (first.pending, first.received, first.fetched, first.errors) == (12, 12, 12, [])
    assert second.received == 0
    assert Draft.objects.filter(status="pending", fetched_at__isnull=False).count() == 12
    assert AuditEvent.objects.filter(action="draft.received").count() == 12
    assert multimail.calls["get_email"] == 12  # the second poll fetched nothing again


def test_a_draft_that_left_pending_outside_reviewqueue_is_shown_as_decided_elsewhere(broker, multimail, intercom):
    multimail.add_email("em_1")
    sync(multimail, intercom)
    multimail.emails["em_1"].update(status="approved_and_sent", approved_by="key_dashboard")
    result = sync(multimail, intercom)
    draft = Draft.objects.get(email_id="em_1")
    assert result.decided_elsewhere == 1
    assert draft.status == Draft.Status.DECIDED_ELSEWHERE
    assert "approved_and_sent" in draft.status_detail and "key_dashboard" in draft.status_detail
    assert AuditEvent.objects.filter(action="draft.decided_elsewhere").count() == 1


def test_only_one_poll_runs_at_a_time(broker, multimail, intercom):
    multimail.add_email("em_1")
    broker.redis.set(POLL_LOCK_KEY, "another-worker", ex=30)
    result = sync(multimail, intercom)
    assert result.skipped
    assert multimail.calls["pending"] == 0
    assert not Draft.objects.exists()


def test_a_successful_poll_is_recorded_for_readiness(broker, multimail, intercom):
    assert poll_last_success() is None
    sync(multimail, intercom)
    assert poll_last_success() is not None


def test_sync_pending_command_reports_what_it_pulled(broker, multimail, intercom, use_fakes, capsys):
    multimail.add_email("em_1")
    call_command("sync_pending")
    assert "new drafts: 1" in capsys.readouterr().out


def test_sync_pending_command_says_clearly_when_multimail_is_down(broker, multimail, intercom, use_fakes):
    multimail.down = True
    with pytest.raises(CommandError, match="MultiMail"):
        call_command("sync_pending")


def test_a_poll_that_could_not_reach_multimail_is_not_recorded(broker, multimail, intercom):
    from reviewqueue.integrations.multimail.client import MultiMailError

    multimail.down = True
    with pytest.raises(MultiMailError):
        sync(multimail, intercom)
    assert poll_last_success() is None
    assert not broker.redis.exists(POLL_LOCK_KEY)  # the lock is released for the next poll


def fail_flags_for(recipient: str, monkeypatch) -> None:
    """Storing a draft to `recipient` raises (its flags cannot be computed)."""
    from reviewqueue.review import ingest

    real_flags = ingest.draft_flags

    def flags(**kwargs):
        if kwargs["to"] == [recipient]:
            raise ValueError("cannot compute flags")
        return real_flags(**kwargs)

    monkeypatch.setattr(ingest, "draft_flags", flags)


def test_a_draft_that_cannot_be_stored_fails_alone_and_the_others_are_stored(broker, multimail, intercom, monkeypatch):
    fail_flags_for("bad@example.com", monkeypatch)
    for n in range(6):
        multimail.add_email(f"em_{n}", to=["bad@example.com" if n == 3 else f"c{n}@example.com"])
    result = sync(multimail, intercom, concurrency=3)
    assert (result.received, result.fetched, len(result.errors)) == (6, 5, 1)
    assert "cannot compute flags" in result.errors[0]
    assert Draft.objects.filter(fetched_at__isnull=False).count() == 5
    assert Draft.objects.get(email_id="em_3").fetched_at is None  # the next poll tries it again


def test_a_failed_store_batch_is_stored_again_draft_by_draft(broker, multimail, intercom, monkeypatch):
    from reviewqueue.review import ingest, poll

    fail_flags_for("bad@example.com", monkeypatch)
    for n in range(3):
        multimail.add_email(f"em_{n}", to=["bad@example.com" if n == 1 else f"c{n}@example.com"])
    drafts = poll._drafts_receive_batch(multimail.client().pending())
    batch = [
        ingest._draft_fetch_remote(draft, refresh=False, multimail=multimail.client(), intercom=intercom.client())
        for draft in drafts
    ]
    writer = poll._StoreWriter()
    writer._store(batch)  # one batch of three, stored here rather than on the writer's thread
    outcomes = writer.close()
    assert [type(outcome).__name__ for outcome in outcomes] == ["str", "ValueError", "str"]
    assert set(Draft.objects.filter(fetched_at__isnull=False).values_list("email_id", flat=True)) == {"em_0", "em_2"}


def test_a_batch_shows_a_draft_decided_elsewhere_and_stores_the_others(broker, multimail, intercom):
    from reviewqueue.review import ingest, poll

    for n in range(3):
        multimail.add_email(f"em_{n}")
    drafts = poll._drafts_receive_batch(multimail.client().pending())
    multimail.emails["em_1"].update(status="approved_and_sent", approved_by="key_dashboard")
    batch = [
        ingest._draft_fetch_remote(draft, refresh=False, multimail=multimail.client(), intercom=intercom.client())
        for draft in drafts
    ]
    ingest._drafts_store_fetched(batch)
    statuses = dict(Draft.objects.filter(fetched_at__isnull=False).values_list("email_id", "status"))
    assert statuses == {"em_0": "pending", "em_1": "decided_elsewhere", "em_2": "pending"}
    assert AuditEvent.objects.filter(action="draft.decided_elsewhere").count() == 1


def test_the_first_receive_batch_only_sets_every_fetch_thread_going():
    from reviewqueue.review.poll import RECEIVE_BATCH, _receive_batches

    emails = list(range(16 + RECEIVE_BATCH + 1))
    assert [len(batch) for batch in _receive_batches(emails, first=16)] == [16, RECEIVE_BATCH, 1]
    assert _receive_batches([], first=16) == []
    assert [email for batch in _receive_batches(emails, first=16) for email in batch] == emails
