"""Approving from "inside Intercom": the Intercom sandbox's conversation page shows reviewqueue's Inbox app
panel (drawn by the real endpoints under gunicorn, signed), and a reviewer approves from it in Chromium.

The sandbox announces a new conversation by webhook, which the live worker turns into the
conversation's first snapshot whenever it gets to it (later still when an earlier test left it work).
A draft made before that snapshot has none; were the panel drawn then and the snapshot attached
before the click, the stale-context guard would rightly say "the conversation was loaded after you
opened the draft". So the test starts where a real held draft is: the conversation's snapshot stored,
and the draft standing on it, as intake leaves it.
"""

import httpx
import pytest

from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.review.models import Decision
from reviewqueue.sandbox.intercom import defaults as intercom_defaults
from tests.livesystem import wait_for
from tests.review.page_helpers import make_draft


@pytest.fixture
def inbox_app(live_system):
    """The sandbox's Inbox shows reviewqueue's app (the knob make run sets with --inbox-app-url)."""
    knobs = f"{live_system.intercom_url}/_sandbox/knobs"
    httpx.post(knobs, json={"inbox_app_url": f"{live_system.web_url}/integrations/intercom/canvas"}).raise_for_status()
    yield live_system
    httpx.post(knobs, json={"inbox_app_url": ""}).raise_for_status()


def sandbox_conversation(live_system) -> tuple[str, ConversationSnapshot]:
    """A new conversation in the sandbox, and the snapshot reviewqueue stored from its webhook."""
    api = httpx.Client(
        base_url=live_system.intercom_url,
        headers={"Authorization": f"Bearer {intercom_defaults.ACCESS_TOKEN}", "Intercom-Version": "2.14"},
    )
    contact = api.post("/contacts", json={"email": "cleo@example.com", "name": "Cleo"}).json()
    message = api.post("/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "Where is it?"})
    conversation_id = message.json()["conversation_id"]
    snapshot = wait_for(
        lambda: ConversationSnapshot.objects.filter(conversation_id=conversation_id).order_by("-pk").first(),
        timeout=30,
        what=f"reviewqueue's snapshot of sandbox conversation {conversation_id} (its webhook handled)",
    )
    return conversation_id, snapshot


@pytest.mark.browser
def test_a_reviewer_approves_from_the_panel_beside_the_conversation(page, page_watch, person, inbox_app):
    person("rita", "reviewer")
    conversation_id, snapshot = sandbox_conversation(inbox_app)
    draft = make_draft(
        conversation_id=conversation_id,
        subject="Your parcel is on its way",
        snapshot_id=snapshot.pk,
        latest_snapshot_id=snapshot.pk,
    )
    page.goto(
        f"{inbox_app.intercom_url}/a/inbox/{intercom_defaults.APP_ID}/inbox/conversation/{conversation_id}"
        "?as=rita@example.com",
        wait_until="load",
    )
    assert page.get_by_text("Where is it?").is_visible()  # the conversation
    assert page.get_by_role("heading", name="Your parcel is on its way").is_visible()  # the app's panel
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text("«Your parcel is on its way»: approved.").wait_for()
    decision = Decision.objects.get(draft=draft)
    assert (decision.origin, decision.reviewer.username) == ("intercom", "rita")
    assert page.get_by_text("Nothing held for this conversation").is_visible()
    assert page_watch.page_errors == [] and page_watch.foreign_requests == []
