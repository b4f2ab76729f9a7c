"""Issue 16, finding 2: an approval stands on the conversation the person was shown.

Over the API a decision sends back the snapshot_id it was shown; none, or an older one, is a 409
with what changed unless confirm_changed (recorded and audited). The draft page rendered before any
snapshot existed is held to the same rule. A snapshot older than CONTEXT_MAX_AGE is re-read from
Intercom (one quick GET) before an approval is accepted, so a lost webhook cannot make a stale
conversation look current; when Intercom does not answer in time, the approval goes through and the
decision says the context could not be re-checked. MultiMail and Intercom are faked at the HTTP
boundary (tests/fakes.py).
"""

from datetime import timedelta

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.integrations.intercom.client import IntercomClient
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.services import snapshot_refresh
from reviewqueue.review.ingest import draft_fetch, draft_receive, drafts_context_changed
from reviewqueue.review.models import Decision, Draft
from tests.conftest import logged_in_client
from tests.review.test_api_drafts import api, post_decision
from tests.review.test_draft_fetch import WRITTEN
from tests.routing.test_openapi import conforms
from tests.surfaces import vendors_patched

pytestmark = pytest.mark.django_db

CANCEL = "Actually, please cancel my order instead!"


@pytest.fixture
def vendors(monkeypatch, settings):
    """MultiMail holding em_1 for conversation c_7 in Intercom; every client in the code talks to these fakes."""
    settings.CONTEXT_MAX_AGE = 60
    return vendors_patched(monkeypatch)


@pytest.fixture
def draft(vendors) -> Draft:
    """Received and fetched with its conversation, as the poll does."""
    received, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="poll", actor=Actor.system("t"), fetch=False
    )
    return draft_fetch(draft_id=received.pk)


def customer_writes_again(intercom, *, webhook: bool = True) -> int | None:
    """The customer writes in Intercom; with its webhook the snapshot is refreshed (the new snapshot's id)."""
    intercom.add_part("c_7", author_type="user", body=f"<p>{CANCEL}</p>", created_at=WRITTEN + 120)
    if not webhook:
        return None
    snapshot = snapshot_refresh(conversation_id="c_7", client=intercom.client())
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)
    return snapshot.pk


def shown_snapshot_id(reviewer, draft) -> int:
    return api(reviewer).get(f"/api/v1/drafts/{draft.pk}").json()["latest_snapshot_id"]


def snapshot_checked_ago(snapshot_id: int, seconds: int) -> None:
    ConversationSnapshot.objects.filter(pk=snapshot_id).update(checked_at=timezone.now() - timedelta(seconds=seconds))


def test_an_api_approval_without_the_snapshot_shown_is_409_with_the_change(draft, reviewer, vendors):
    multimail, intercom = vendors
    latest = customer_writes_again(intercom)
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": ""})
    assert response.status_code == 409
    body = conforms(response, "POST", f"/api/v1/drafts/{draft.pk}/decision")
    assert body["conflict"] == "conversation_changed"
    assert body["latest_snapshot_id"] == latest
    assert "snapshot_id" in body["error"] and "confirm_changed" in body["error"]
    assert not Decision.objects.exists()
    assert multimail.emails["em_1"]["status"] == "pending_send_approval"


def test_an_api_approval_on_an_older_snapshot_is_409_naming_what_the_customer_wrote(draft, reviewer, vendors):
    _, intercom = vendors
    shown = shown_snapshot_id(reviewer, draft)
    latest = customer_writes_again(intercom)
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", "snapshot_id": shown})
    assert response.status_code == 409
    body = response.json()
    assert (body["conflict"], body["snapshot_id"], body["latest_snapshot_id"]) == (
        "conversation_changed",
        shown,
        latest,
    )
    assert any(CANCEL in change for change in body["changes"])
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.PENDING


def test_an_api_approval_on_the_latest_snapshot_is_recorded_with_it(draft, reviewer, vendors):
    _, intercom = vendors
    customer_writes_again(intercom)
    latest = shown_snapshot_id(reviewer, draft)
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", "snapshot_id": latest})
    assert response.status_code == 201
    decision = Decision.objects.get()
    assert (decision.snapshot_id, decision.confirmed_changed) == (latest, False)


def test_confirm_changed_approves_past_the_guard_and_the_override_is_audited(draft, reviewer, vendors):
    _, intercom = vendors
    latest = customer_writes_again(intercom)
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", "confirm_changed": True})
    assert response.status_code == 201
    decision = Decision.objects.get()
    assert (decision.snapshot_id, decision.confirmed_changed) == (None, True)  # no overstating what was seen
    payload = AuditEvent.objects.get(action="draft.decided").payload
    assert (payload["confirmed_changed"], payload["snapshot_id"], payload["latest_snapshot_id"]) == (True, None, latest)


@pytest.mark.parametrize(
    ("field", "value"), [("snapshot_id", "12"), ("snapshot_id", 0), ("snapshot_id", True), ("confirm_changed", "yes")]
)
def test_a_malformed_snapshot_id_or_confirmation_is_a_400_naming_it(draft, reviewer, field, value):
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", field: value})
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Decision.objects.exists()


def test_rejecting_never_asks_and_records_only_the_snapshot_sent(draft, reviewer, vendors):
    _, intercom = vendors
    customer_writes_again(intercom)
    response = post_decision(api(reviewer), draft.pk, {"action": "reject", "reason": "Customer wants to cancel"})
    assert response.status_code == 201
    assert Decision.objects.get().snapshot_id is None


def test_the_draft_page_rendered_before_any_snapshot_cannot_approve_the_conversation_loaded_since(reviewer, vendors):
    multimail, intercom = vendors
    intercom.down = True  # the conversation could not be loaded when the draft arrived
    received, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="poll", actor=Actor.system("t"), fetch=False
    )
    draft = draft_fetch(draft_id=received.pk)
    browser = logged_in_client(reviewer)
    page = browser.get(reverse("review:draft", args=[draft.pk])).content.decode()
    assert 'name="shown_snapshot_id" value=""' in page
    intercom.down = False
    customer_writes_again(intercom)  # Intercom answers again: the conversation is loaded, with the new message
    response = browser.post(
        reverse("review:draft_decision", args=[draft.pk]), {"action": "approve", "shown_snapshot_id": ""}
    )
    assert response.status_code == 409
    assert 'id="conversation-changed"' in response.content.decode()
    assert not Decision.objects.exists()
    assert multimail.emails["em_1"]["status"] == "pending_send_approval"


def test_a_lost_webhook_is_caught_by_reading_a_stale_conversation_again_at_approve_time(draft, reviewer, vendors):
    _, intercom = vendors
    shown = shown_snapshot_id(reviewer, draft)
    snapshot_checked_ago(shown, 5 * 60)
    customer_writes_again(intercom, webhook=False)  # the webhook never arrives
    fetches = intercom.calls["get_conversation"]
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", "snapshot_id": shown})
    assert response.status_code == 409
    body = response.json()
    assert any(CANCEL in change for change in body["changes"])
    assert body["latest_snapshot_id"] != shown
    assert intercom.calls["get_conversation"] == fetches + 1
    assert Draft.objects.get(pk=draft.pk).latest_snapshot_id == body["latest_snapshot_id"]
    assert not Decision.objects.exists()


def test_a_snapshot_checked_within_context_max_age_is_not_fetched_again(draft, reviewer, vendors):
    _, intercom = vendors
    shown = shown_snapshot_id(reviewer, draft)
    fetches = intercom.calls["get_conversation"]
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", "snapshot_id": shown})
    assert response.status_code == 201
    assert intercom.calls["get_conversation"] == fetches
    assert Decision.objects.get().context_recheck_error == ""


def test_when_intercom_does_not_answer_the_recheck_in_time_the_approval_records_it(draft, reviewer, monkeypatch):
    shown = shown_snapshot_id(reviewer, draft)
    snapshot_checked_ago(shown, 5 * 60)
    asked = []

    def too_slow(request: httpx.Request) -> httpx.Response:
        asked.append((request.method, request.url.path, request.extensions["timeout"]["read"]))
        raise httpx.ReadTimeout("Intercom took too long", request=request)

    slow = IntercomClient(
        base_url="https://intercom.test", access_token="ic", admin_id="admin_1", transport=httpx.MockTransport(too_slow)
    )
    monkeypatch.setattr("reviewqueue.integrations.intercom.client.get_intercom_client", lambda **_: slow)
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": "", "snapshot_id": shown})
    assert response.status_code == 201
    [(method, path, read_timeout)] = asked  # one GET, not retried
    assert (method, path) == ("GET", "/conversations/c_7") and read_timeout <= 5
    decision = Decision.objects.get()
    assert "c_7" in decision.context_recheck_error
    assert response.json()["decision"]["context_recheck_error"] == decision.context_recheck_error
    payload = AuditEvent.objects.get(action="draft.decided").payload
    assert payload["context_recheck_error"] == decision.context_recheck_error
    page = logged_in_client(reviewer).get(reverse("review:draft", args=[draft.pk])).content.decode()
    assert "could not be re-checked with Intercom" in page
