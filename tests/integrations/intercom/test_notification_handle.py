"""intercom_webhook_handle: dispatch by topic, refresh the snapshot, tell the review queue; in order."""

import json

import pytest

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_store
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.tasks import intercom_webhook_handle, intercom_webhooks_redrive
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.webhooks import notification


@pytest.fixture(autouse=True)
def intercom_is_the_sandbox(settings, sandbox):
    settings.INTERCOM_API_URL = sandbox.url
    settings.INTERCOM_ACCESS_TOKEN = defaults.ACCESS_TOKEN
    settings.INTERCOM_ADMIN_ID = ""


def stored(topic: str, conversation: dict, *, created_at: int) -> InboundWebhook:
    event = notification(topic=topic, item=conversation, app_id=defaults.APP_ID, created_at=created_at)
    record, _ = inbound_store(
        source="intercom", delivery_id=event["id"], topic=topic, payload=json.loads(json.dumps(event))
    )
    return record


def handle(record: InboundWebhook) -> InboundWebhook:
    intercom_webhook_handle.apply(args=[record.pk]).get()
    record.refresh_from_db()
    return record


@pytest.mark.django_db
def test_customer_reply_refreshes_the_snapshot_and_settles_processed(sandbox, customer_conversation):
    contact, created = customer_conversation
    conversation, topic = sandbox.state.reply(
        created["id"],
        {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "Still waiting"},
    )
    record = handle(stored(topic, conversation, created_at=conversation["updated_at"]))
    assert record.status == InboundWebhook.Status.PROCESSED
    assert record.attempts == 1
    snapshot = ConversationSnapshot.objects.get(conversation_id=created["id"])
    assert snapshot.conversation.parts[-1].body == "Still waiting"


@pytest.mark.django_db
def test_handling_twice_does_nothing_the_second_time(sandbox, customer_conversation):
    _, created = customer_conversation
    record = handle(stored("conversation.user.created", created, created_at=created["created_at"]))
    assert handle(record).attempts == 1
    assert ConversationSnapshot.objects.count() == 1


@pytest.mark.django_db
def test_reordered_notifications_do_not_regress_the_snapshot(sandbox, customer_conversation):
    contact, created = customer_conversation
    clock = [created["updated_at"]]
    sandbox.state.clock = lambda: clock[0]
    clock[0] += 5
    replied, _ = sandbox.state.reply(
        created["id"], {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "1"}
    )
    clock[0] += 5
    closed, _ = sandbox.state.manage(created["id"], {"message_type": "close", "admin_id": defaults.ADMIN_ID})
    older = stored("conversation.user.replied", replied, created_at=replied["updated_at"])
    newer = stored("conversation.admin.closed", closed, created_at=closed["updated_at"])

    handle(newer)
    latest = ConversationSnapshot.objects.get()
    assert latest.conversation.state == "closed"

    assert handle(older).status == InboundWebhook.Status.PROCESSED
    assert list(ConversationSnapshot.objects.all()) == [latest]  # superseded: not even fetched again
    assert ConversationSnapshot.objects.get().conversation.state == "closed"


@pytest.mark.django_db
def test_notification_for_a_deleted_conversation_fails_without_retrying(customer_conversation):
    _, created = customer_conversation
    record = handle(stored("conversation.admin.noted", {**created, "id": "999999"}, created_at=created["updated_at"]))
    assert record.status == InboundWebhook.Status.FAILED
    assert "not_found" in record.error or "Not Found" in record.error
    assert not ConversationSnapshot.objects.exists()


@pytest.mark.django_db
def test_unknown_topic_reaching_the_task_is_ignored(customer_conversation):
    _, created = customer_conversation
    record = handle(stored("conversation.deleted", created, created_at=created["updated_at"]))
    assert record.status == InboundWebhook.Status.IGNORED


@pytest.mark.django_db
def test_redrive_re_enqueues_only_old_unstarted_notifications(customer_conversation, broker):
    from datetime import timedelta

    from django.utils import timezone

    from tests.integrations.intercom.helpers import queued_handle_tasks

    broker.kept_messages_since(timezone.now() - timedelta(days=1))  # no loss: only time tells a lost message
    _, created = customer_conversation
    fresh = stored("conversation.user.created", created, created_at=created["created_at"])
    lost = stored("conversation.user.replied", created, created_at=created["updated_at"])
    InboundWebhook.objects.filter(pk=lost.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    assert intercom_webhooks_redrive() == 1
    assert queued_handle_tasks(lost.pk, remove=True) == 1
    assert queued_handle_tasks(fresh.pk) == 0


@pytest.mark.django_db
def test_notifications_stored_before_the_broker_lost_its_messages_are_redriven_at_once_and_once(
    customer_conversation, broker
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.integrations.intercom.helpers import queued_handle_tasks

    broker.kept_messages_since(timezone.now() - timedelta(minutes=5))  # the loss, five minutes ago
    _, created = customer_conversation
    lost = stored("conversation.user.created", created, created_at=created["created_at"])
    after = stored("conversation.user.replied", created, created_at=created["updated_at"])
    # Attempted once, its retry's message then lost with the broker: without the loss known, 30 minutes' wait.
    InboundWebhook.objects.filter(pk=lost.pk).update(received_at=timezone.now() - timedelta(minutes=6), attempts=1)
    InboundWebhook.objects.filter(pk=after.pk).update(received_at=timezone.now() - timedelta(minutes=1))

    assert intercom_webhooks_redrive() == 1
    assert intercom_webhooks_redrive() == 0  # once per loss
    assert queued_handle_tasks(lost.pk) == 1
    assert queued_handle_tasks(after.pk) == 0  # received after the loss: its own message may be on the way


@pytest.mark.django_db
def test_fan_out_enqueues_one_handling_task_per_notification(customer_conversation):
    from reviewqueue.integrations.intercom.tasks import intercom_webhooks_fan_out
    from tests.integrations.intercom.helpers import queued_handle_tasks

    _, created = customer_conversation
    first = stored("conversation.user.created", created, created_at=created["created_at"])
    second = stored("conversation.user.replied", created, created_at=created["updated_at"])
    assert intercom_webhooks_fan_out.apply(args=[[first.pk, second.pk]]).get() == 2
    assert queued_handle_tasks(first.pk, remove=True) == 1
    assert queued_handle_tasks(second.pk, remove=True) == 1


@pytest.mark.django_db
def test_intercom_failing_for_a_while_is_retried_by_the_task_until_it_answers(
    sandbox, customer_conversation, monkeypatch
):
    from reviewqueue.integrations.intercom import client as client_module

    # The real client, with its backoff sleeps skipped so the test does not wait them out.
    monkeypatch.setattr(
        client_module,
        "get_intercom_client",
        lambda: client_module.IntercomClient(
            base_url=sandbox.url, access_token=defaults.ACCESS_TOKEN, sleep=lambda s: None
        ),
    )
    _, created = customer_conversation
    record = stored("conversation.user.created", created, created_at=created["created_at"])
    tries_per_attempt = client_module.DEFAULT_POLICY.max_attempts  # the client's own bounded retries of a GET
    sandbox.knobs.update({"fail_next": [503] * tries_per_attempt})

    record = handle(record)

    assert record.status == InboundWebhook.Status.PROCESSED
    assert record.attempts == 2  # the first attempt gave up after the client's retries; the task's retry worked
    assert ConversationSnapshot.objects.filter(conversation_id=created["id"]).exists()


@pytest.mark.django_db
def test_our_own_decision_note_refreshes_nothing(sandbox, customer_conversation):
    _, created = customer_conversation
    conversation, topic = sandbox.state.reply(
        created["id"],
        {
            "type": "admin",
            "message_type": "note",
            "admin_id": defaults.ADMIN_ID,
            "body": "<p>Approved (reviewqueue decision 7)</p>",
        },
    )
    record = handle(stored(topic, conversation, created_at=conversation["updated_at"]))
    assert record.status == InboundWebhook.Status.PROCESSED
    assert not ConversationSnapshot.objects.filter(conversation_id=created["id"]).exists()


@pytest.mark.django_db
def test_a_teammates_note_does_refresh_the_snapshot(sandbox, customer_conversation):
    _, created = customer_conversation
    conversation, topic = sandbox.state.reply(
        created["id"],
        {"type": "admin", "message_type": "note", "admin_id": defaults.ADMIN_ID, "body": "<p>Careful: VIP</p>"},
    )
    record = handle(stored(topic, conversation, created_at=conversation["updated_at"]))
    assert record.status == InboundWebhook.Status.PROCESSED
    assert ConversationSnapshot.objects.get(conversation_id=created["id"]).conversation.parts[-1].body
