"""snapshot_refresh / snapshot_latest: a new row only when the conversation changed, never a regression."""

from dataclasses import replace
from datetime import timedelta

import pytest

from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.services import snapshot_latest, snapshot_refresh, snapshot_store


@pytest.fixture
def refresh(sandbox_client):
    return lambda conversation_id: snapshot_refresh(conversation_id=conversation_id, client=sandbox_client)


@pytest.mark.django_db
def test_first_refresh_stores_the_conversation_as_fetched(refresh, customer_conversation):
    _, created = customer_conversation
    snapshot = refresh(created["id"])
    assert snapshot.pk is not None
    assert snapshot.conversation_id == created["id"]
    assert snapshot.conversation.source.body == "<p>My order arrived damaged.</p>"
    assert snapshot.conversation_updated_at.timestamp() == created["updated_at"]
    assert snapshot_latest(created["id"]) == snapshot


@pytest.mark.django_db
def test_unchanged_conversation_keeps_its_snapshot_and_only_records_the_check(refresh, customer_conversation):
    _, created = customer_conversation
    first = refresh(created["id"])
    again = refresh(created["id"])
    assert again.pk == first.pk
    assert ConversationSnapshot.objects.count() == 1
    stored = ConversationSnapshot.objects.get()
    assert stored.checked_at > stored.fetched_at
    assert stored.data == first.data


@pytest.mark.django_db
def test_a_customer_reply_makes_a_new_snapshot_and_the_old_one_is_kept(sandbox, refresh, customer_conversation):
    contact, created = customer_conversation
    first = refresh(created["id"])
    sandbox.state.reply(
        created["id"], {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "Hello?"}
    )
    second = refresh(created["id"])
    assert second.pk != first.pk
    assert [p.body for p in second.conversation.parts] == ["Hello?"]
    assert ConversationSnapshot.objects.get(pk=first.pk).conversation.parts == []
    assert snapshot_latest(created["id"]) == second


@pytest.mark.django_db
def test_a_fetch_older_than_the_latest_snapshot_is_not_stored(sandbox_client, customer_conversation):
    # Two workers fetched at once; the one holding the older state finishes last.
    _, created = customer_conversation
    newer = sandbox_client.get_conversation(created["id"])
    older = replace(newer, updated_at=newer.updated_at - timedelta(seconds=30), state="snoozed")
    kept = snapshot_store(conversation=newer)
    assert snapshot_store(conversation=older) == kept
    assert ConversationSnapshot.objects.count() == 1
    assert snapshot_latest(created["id"]).conversation.state == "open"


@pytest.mark.django_db
def test_snapshot_latest_of_an_unknown_conversation_is_none():
    assert snapshot_latest("nope") is None
