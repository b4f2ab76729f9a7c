"""Mailboxes: the list as MultiMail has it, provisioning, renaming, stricter oversight, webhook subscription."""

import pytest
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.routing.crypto import secret_decrypt
from reviewqueue.routing.models import Mailbox
from reviewqueue.routing.services import mailboxes_sync
from tests.routing.conftest import mailbox


def test_sync_mirrors_multimail_and_audits_each_change(db, multimail):
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev", name="One")
    multimail.add_mailbox("mb_2", "two@acme.multimail.dev", mode="monitored")
    mailbox("mb_gone", "gone@acme.multimail.dev")
    mailbox("mb_2", "two@acme.multimail.dev", mode="gated_send")
    result = mailboxes_sync(actor=Actor.system("test"))
    assert (result.created, result.updated, result.deactivated) == (1, 1, 1)
    assert Mailbox.objects.get(mailbox_id="mb_1").display_name == "One"
    assert Mailbox.objects.get(mailbox_id="mb_2").oversight_mode == "monitored"
    assert not Mailbox.objects.get(mailbox_id="mb_gone").is_active
    changed = AuditEvent.objects.get(action="mailbox.synced", target_id="mb_2")
    assert changed.payload["old"]["oversight_mode"] == "gated_send"
    assert changed.payload["new"]["oversight_mode"] == "monitored"
    again = mailboxes_sync(actor=Actor.system("test"))
    assert (again.created, again.updated, again.deactivated) == (0, 0, 0)


def test_the_sync_button_syncs_and_the_list_shows_multimails_mailboxes(admin_client_, multimail):
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev")
    response = admin_client_.post(reverse("routing:mailboxes_sync"), follow=True)
    assert b"1 new" in response.content
    assert b"one@acme.multimail.dev" in response.content


def test_an_admin_provisions_a_mailbox_and_subscribes_our_webhook(admin_client_, admin_user, multimail, settings):
    settings.SITE_URL = "https://reviewqueue.example"
    response = admin_client_.post(
        reverse("routing:mailbox_new"), {"address_local": "refunds", "display_name": "Refunds"}
    )
    assert response.status_code == 302
    box = Mailbox.objects.get(address="refunds@acme.multimail.dev")
    assert box.oversight_mode == "gated_send" and box.display_name == "Refunds"
    created = AuditEvent.objects.get(action="mailbox.created")
    assert created.actor_id == str(admin_user.pk) and created.payload["new"]["address"] == box.address

    response = admin_client_.post(reverse("routing:mailbox_webhook", args=[box.pk]), {})
    assert response.status_code == 302
    (hook,) = multimail.webhooks.values()
    assert hook["url"] == "https://reviewqueue.example/webhooks/multimail"
    assert hook["mailbox_id"] == box.mailbox_id and "oversight.pending" in hook["events"]
    box.refresh_from_db()
    assert box.webhook_subscription_id == hook["id"]
    assert hook["signing_secret"] not in box.webhook_secret_encrypted
    assert secret_decrypt(box.webhook_secret_encrypted) == hook["signing_secret"]
    event = AuditEvent.objects.get(action="mailbox.webhook_subscribed")
    assert event.payload["new"]["subscription_id"] == hook["id"]
    assert hook["signing_secret"] not in str(event.payload)


def test_a_taken_address_is_a_field_error(admin_client_, multimail):
    multimail.add_mailbox("mb_1", "support@acme.multimail.dev")
    response = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "support"})
    assert response.status_code == 400
    assert b"already taken" in response.content
    assert not Mailbox.objects.exists()


def test_the_plan_limit_is_explained(admin_client_, multimail):
    multimail.plan_limit = 0
    response = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "more"})
    assert response.status_code == 400
    assert b"mailbox limit" in response.content


def test_the_operator_approval_code_round_trip(admin_client_, multimail):
    multimail.require_approval_code = "493021"
    response = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "sales"})
    assert response.status_code == 200
    assert b"Next step" in response.content and b"approval_code" in response.content
    assert b'value="sales"' in response.content
    assert AuditEvent.objects.filter(action="mailbox.approval_requested").count() == 1
    assert not Mailbox.objects.exists()
    response = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "sales", "approval_code": "493021"})
    assert response.status_code == 302
    assert Mailbox.objects.filter(address="sales@acme.multimail.dev").exists()


def test_a_bad_address_never_reaches_multimail(admin_client_, multimail):
    response = admin_client_.post(reverse("routing:mailbox_new"), {"address_local": "no spaces please"})
    assert response.status_code == 400
    assert b"address_local" in response.content
    assert multimail.requests == []


def test_rename_is_sent_to_multimail_and_audited_with_old_and_new(admin_client_, multimail):
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev", name="Old")
    box = mailbox("mb_1", "one@acme.multimail.dev")
    Mailbox.objects.filter(pk=box.pk).update(display_name="Old")
    admin_client_.post(reverse("routing:mailbox_rename", args=[box.pk]), {"display_name": "New"})
    assert multimail.mailboxes["mb_1"]["display_name"] == "New"
    assert Mailbox.objects.get(pk=box.pk).display_name == "New"
    event = AuditEvent.objects.get(action="mailbox.renamed")
    assert (event.payload["old"], event.payload["new"]) == ({"display_name": "Old"}, {"display_name": "New"})


def test_oversight_can_be_made_stricter(admin_client_, multimail):
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev", mode="monitored")
    box = mailbox("mb_1", "one@acme.multimail.dev", mode="monitored")
    admin_client_.post(reverse("routing:mailbox_oversight", args=[box.pk]), {"oversight_mode": "gated_send"})
    assert multimail.mailboxes["mb_1"]["oversight_mode"] == "gated_send"
    assert Mailbox.objects.get(pk=box.pk).oversight_mode == "gated_send"
    event = AuditEvent.objects.get(action="mailbox.oversight_tightened")
    assert event.payload["old"] == {"oversight_mode": "monitored"}


@pytest.mark.parametrize("looser", ["gated_send", "monitored", "autonomous"])
def test_loosening_oversight_is_refused_with_the_reason(admin_client_, multimail, looser):
    box = mailbox("mb_1", "one@acme.multimail.dev", mode="gated_send")
    response = admin_client_.post(reverse("routing:mailbox_oversight", args=[box.pk]), {"oversight_mode": looser})
    assert response.status_code == 400
    assert b"approval code" in response.content
    assert multimail.requests == []
    assert Mailbox.objects.get(pk=box.pk).oversight_mode == "gated_send"


def test_the_page_explains_oversight_modes(admin_client_, multimail):
    box = mailbox()
    body = admin_client_.get(reverse("routing:mailbox", args=[box.pk])).content.decode()
    assert "property of the <strong>mailbox</strong>" in body
    assert "emails an approval code to the operator" in body


def test_without_an_admin_key_provisioning_is_shown_unavailable(admin_client_, multimail, monkeypatch):

    without_admin = multimail.client(admin_api_key="")
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: without_admin)
    body = admin_client_.get(reverse("routing:mailboxes")).content.decode()
    assert "MULTIMAIL_ADMIN_API_KEY" in body


def test_the_beat_task_syncs_mailboxes(db, multimail, settings):
    from reviewqueue.routing.tasks import mailboxes_sync_task

    assert settings.CELERY_BEAT_SCHEDULE["routing-mailboxes-sync"]["task"] == mailboxes_sync_task.name
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev")
    mailboxes_sync_task()
    assert Mailbox.objects.filter(mailbox_id="mb_1", is_active=True).exists()


def test_the_beat_task_survives_multimail_failing(db, multimail):
    from reviewqueue.routing.tasks import mailboxes_sync_task

    multimail.fail[("GET", "/v1/mailboxes")] = (500, {"error": "down"})
    mailboxes_sync_task()
    assert not Mailbox.objects.exists()


def test_subscribing_again_replaces_the_old_subscription(admin_client_, multimail, settings):
    settings.SITE_URL = "https://reviewqueue.example"
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev")
    box = mailbox("mb_1", "one@acme.multimail.dev")
    url = reverse("routing:mailbox_webhook", args=[box.pk])
    admin_client_.post(url, {})
    (first,) = multimail.webhooks
    admin_client_.post(url, {})
    (second,) = multimail.webhooks
    box.refresh_from_db()
    assert first != second and box.webhook_subscription_id == second
    assert secret_decrypt(box.webhook_secret_encrypted) == multimail.webhooks[second]["signing_secret"]
