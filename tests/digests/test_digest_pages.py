"""The digest setting on the profile page, and the caught-mail page `make run` shows."""

from datetime import time

import pytest
from django.contrib.messages import get_messages
from django.core.mail import EmailMessage

from reviewqueue.audit.models import AuditEvent
from reviewqueue.digests.mailcatcher import CatchingEmailBackend
from reviewqueue.digests.models import DigestPreference
from reviewqueue.routing.models import Mailbox

pytestmark = pytest.mark.django_db


def told(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_profile_page_offers_the_digest_setting(reviewer_client):
    Mailbox.objects.create(mailbox_id="mbx_billing", address="billing@ours.example")
    page = reviewer_client.get("/accounts/profile/").content.decode()
    assert 'id="digest-settings"' in page and "billing@ours.example" in page
    assert 'action="/digests/preference"' in page


def test_a_person_chooses_a_daily_digest_in_their_timezone_and_it_is_audited(reviewer, reviewer_client):
    Mailbox.objects.create(mailbox_id="mbx_billing", address="billing@ours.example")
    response = reviewer_client.post(
        "/digests/preference",
        {"frequency": "daily", "send_at": "07:30", "timezone": "Europe/Lisbon", "mailbox_ids": ["mbx_billing"]},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    preference = DigestPreference.objects.get(user=reviewer)
    assert (preference.frequency, preference.send_at, preference.time_zone, preference.mailbox_ids) == (
        "daily",
        time(7, 30),
        "Europe/Lisbon",
        ["mbx_billing"],
    )
    event = AuditEvent.objects.get(action="digest.preference_changed")
    assert event.payload["old"] is None and event.payload["new"]["timezone"] == "Europe/Lisbon"
    page = reviewer_client.get("/accounts/profile/").content.decode()
    assert 'value="Europe/Lisbon"' in page


def test_an_unknown_timezone_is_refused_and_nothing_is_saved(reviewer_client):
    response = reviewer_client.post(
        "/digests/preference", {"frequency": "daily", "send_at": "07:30", "timezone": "Nowhere/City"}
    )
    assert any("Nowhere/City" in m for m in told(response))
    assert not DigestPreference.objects.exists()


def test_the_digest_setting_needs_a_login(client):
    response = client.post("/digests/preference", {"frequency": "off", "send_at": "08:00", "timezone": "UTC"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_caught_mail_is_listed_locally(reviewer_client, settings, tmp_path):
    settings.DEBUG, settings.MAIL_CATCHER_DIR = True, str(tmp_path)
    connection = CatchingEmailBackend(directory=str(tmp_path))
    connection.send_messages([EmailMessage("reviewqueue: 3 drafts waiting", "Hello Rita", to=["rita@example.com"])])
    page = reviewer_client.get("/mail/").content.decode()
    assert "reviewqueue: 3 drafts waiting" in page and "Hello Rita" in page and "rita@example.com" in page


def test_the_caught_mail_page_does_not_exist_outside_local_runs(reviewer_client, settings, tmp_path):
    settings.DEBUG, settings.MAIL_CATCHER_DIR = False, str(tmp_path)
    assert reviewer_client.get("/mail/").status_code == 404
    settings.DEBUG, settings.MAIL_CATCHER_DIR = True, ""
    assert reviewer_client.get("/mail/").status_code == 404
