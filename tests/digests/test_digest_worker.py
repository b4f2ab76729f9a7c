"""The beat task on a real Celery worker: a digest due now in the person's timezone goes out once,
through the mailer EMAIL_URL names (caught to files here), however often the task runs."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from reviewqueue.celery import app
from reviewqueue.digests.models import DigestPreference, DigestRun
from reviewqueue.digests.services import digest_preference_set
from tests.livesystem import LiveSystem, database_url, wait_for
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(broker, tmp_path):
    system = LiveSystem(
        database_url=database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        extra_env={"EMAIL_URL": f"file://{tmp_path}"},
    )
    try:
        system.start_worker(concurrency=2)
        yield system
    finally:
        system.cleanup()


def runs_finished(system: LiveSystem) -> int:
    lines = system.processes["worker"].log_text().splitlines()
    return sum(1 for line in lines if "digests.send_due[" in line and "succeeded" in line)


def test_the_worker_sends_a_digest_due_at_this_minute_in_kolkata_once(worker, reviewer, tmp_path):
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+5:30: its minute is not UTC's hour
    local_now = datetime.now(kolkata)
    digest_preference_set(
        user=reviewer, frequency="daily", send_at=local_now.time().replace(second=0, microsecond=0),
        tz_name="Asia/Kolkata", mailbox_ids=[],
    )  # fmt: skip
    DigestPreference.objects.update(active_since=timezone.now() - timedelta(minutes=2))
    received_draft("em_1", subject="Where is my parcel?")

    for _ in range(3):  # beat, a retried task, a second beat: one digest
        app.send_task("digests.send_due")
    wait_for(lambda: list(tmp_path.glob("*.eml")), timeout=30, what="the digest caught as a file")
    wait_for(lambda: DigestRun.objects.exists(), timeout=10, what="the period recorded")
    app.send_task("digests.send_due")
    wait_for(lambda: runs_finished(worker) >= 4, timeout=30, what="all four runs of the task finished")

    [mail] = tmp_path.glob("*.eml")
    text = mail.read_text()
    assert "Where is my parcel?" in text and reviewer.email in text
    assert DigestRun.objects.get().outcome == "sent"
