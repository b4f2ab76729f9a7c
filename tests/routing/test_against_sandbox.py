"""End to end against the MultiMail sandbox (served in-process through httpx.WSGITransport)."""

import json
import threading

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.review.models import Draft
from reviewqueue.routing.crypto import secret_decrypt
from reviewqueue.routing.followups import intake_followups
from reviewqueue.routing.models import Mailbox
from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app
from tests.routing.conftest import intake_token, rules_saved


@pytest.fixture
def sandbox(monkeypatch):
    app = make_app(knobs=Knobs(delivery_ms=0), start_sender=False)
    client = MultiMailClient(
        base_url="http://multimail.sandbox",
        api_key=defaults.OVERSIGHT_KEY,
        send_api_key=defaults.SEND_KEY,
        admin_api_key=defaults.ADMIN_KEY,
        transport=httpx.WSGITransport(app=app),
    )
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client)
    return app


def test_an_admin_provisions_a_mailbox_and_a_webhook_against_the_sandbox(admin_client_, sandbox, settings):
    settings.SITE_URL = "https://reviewqueue.example"
    response = admin_client_.post(
        reverse("routing:mailbox_new"), {"address_local": "billing", "display_name": "Billing"}
    )
    assert response.status_code == 302
    box = Mailbox.objects.get(address=f"billing@{defaults.TENANT_DOMAIN}")
    (remote,) = sandbox.state.mailboxes_list()
    assert remote["id"] == box.mailbox_id and remote["oversight_mode"] == "gated_send"

    url = "https://reviewqueue.example/webhooks/multimail"
    admin_client_.post(reverse("routing:mailbox_webhook", args=[box.pk]), {"url": url})
    box.refresh_from_db()
    hook = sandbox.state.webhook_get(box.webhook_subscription_id)
    assert hook["url"] == url and hook["mailbox_id"] == box.mailbox_id
    assert secret_decrypt(box.webhook_secret_encrypted) == hook["signing_secret"]

    sync = admin_client_.post(reverse("routing:mailboxes_sync"), follow=True)
    assert b"0 new, 0 changed" in sync.content


def test_the_approval_code_round_trip_against_the_sandbox(admin_client_, sandbox):
    sandbox.state.require_mailbox_approval = True
    first = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "sales"})
    assert b"Next step" in first.content
    code = sandbox.state.data["approval_codes"][f"sales@{defaults.TENANT_DOMAIN}"]
    second = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "sales", "approval_code": code})
    assert second.status_code == 302
    assert Mailbox.objects.filter(address=f"sales@{defaults.TENANT_DOMAIN}").exists()


def test_the_sandbox_refuses_a_taken_address_and_the_page_says_so(admin_client_, sandbox):
    admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "dup"})
    response = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "dup"})
    assert response.status_code == 400 and b"already taken" in response.content


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_intake_retries_send_once_to_the_sandbox(sandbox, broker):
    _, created = sandbox.state.mailbox_create(actor={"id": "test"}, address_local="support")
    Mailbox.objects.create(mailbox_id=created["id"], address=created["address"], oversight_mode="gated_send")
    rules_saved(default=created["id"])
    raw = intake_token()[1]
    body = json.dumps({"intercom_conversation_id": "77", "to": ["c@example.com"], "subject": "Hi", "markdown": "Hello"})
    answers = []
    barrier = threading.Barrier(10)

    def retry():
        try:
            barrier.wait()
            response = Client().post(
                "/api/v1/drafts", body, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 10 and len({draft_id for _, draft_id in answers}) == 1
    emails = [e for e in sandbox.state.data["emails"].values() if e["mailbox_id"] == created["id"]]
    assert len(emails) == 1
    assert broker.names() == ["routing.intake_followups"]
    assert intake_followups() == 1
    assert emails[0]["tags"] == {"intercom_conversation_id": "77"}
    assert Draft.objects.get().email_id == emails[0]["id"]
