"""The whole Intercom path with real processes: sandbox → gunicorn receiver → Redis → Celery worker."""

import httpx
import pytest
from django.conf import settings
from django.db import connection

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.sandbox.intercom import defaults
from tests.livesystem import LiveSystem, database_url, wait_for


@pytest.fixture
def live(transactional_db):
    system = LiveSystem(database_url=database_url(connection.settings_dict), redis_url=settings.REDIS_URL)
    try:
        system.start_intercom(wait=False)
        system.start_web(workers=1, threads=4, wait=False)
        system.start_worker(concurrency=1, wait=False)
        system.wait_ready()
        yield system
    except Exception:
        print(system.logs())
        raise
    finally:
        system.cleanup()


def test_customer_reply_is_verified_stored_and_handled_by_the_worker_into_a_fresh_snapshot(live):
    token = live.env()["INTERCOM_ACCESS_TOKEN"]
    with httpx.Client(base_url=live.intercom_url, headers={"Authorization": f"Bearer {token}"}) as api:
        contact = api.post("/contacts", json={"email": "dana@example.com", "name": "Dana"}).json()
        conversation_id = api.post(
            "/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "Damaged parcel"}
        ).json()["conversation_id"]
        reply = {
            "message_type": "comment",
            "type": "user",
            "intercom_user_id": contact["id"],
            "body": "Photos attached now",
        }
        api.post(f"/conversations/{conversation_id}/reply", json=reply).raise_for_status()

    def reply_in_snapshot():
        latest = ConversationSnapshot.objects.filter(conversation_id=conversation_id).order_by("-id").first()
        return latest if latest and [p.body for p in latest.conversation.parts] == ["Photos attached now"] else None

    snapshot = wait_for(reply_in_snapshot, timeout=30, what="the customer's reply in a fresh snapshot")
    assert snapshot.conversation.url.startswith(f"{live.intercom_url}/a/inbox/{defaults.APP_ID}/")
    wait_for(
        lambda: InboundWebhook.objects.filter(source="intercom", status=InboundWebhook.Status.PROCESSED).count() == 2,
        timeout=30,
        what="both Intercom webhooks processed",
    )
    assert set(InboundWebhook.objects.values_list("topic", flat=True)) == {
        "conversation.user.created",
        "conversation.user.replied",
    }
