"""The Intercom Inbox app's tests: requests signed as Intercom signs them, drafts made through the services."""

import json

import pytest

from reviewqueue.integrations.intercom import canvas
from reviewqueue.review.models import Draft
from tests.surfaces import em_1_held, vendors_patched

SECRET = "ic_client_secret_for_inbox_tests"
SITE = "https://reviewqueue.example"
INITIALIZE = "/integrations/intercom/canvas/initialize"
SUBMIT = "/integrations/intercom/canvas/submit"


@pytest.fixture(autouse=True)
def intercom_app(settings):
    settings.INTERCOM_CLIENT_SECRET = SECRET
    settings.SITE_URL = SITE
    settings.CONTEXT_MAX_AGE = 60  # the snapshots below are fresh: no re-read at approve time


@pytest.fixture
def vendors(monkeypatch):
    """MultiMail holding em_1 for conversation c_7 in Intercom; every client in the code talks to these fakes."""
    return vendors_patched(monkeypatch)


@pytest.fixture
def held(vendors, broker) -> Draft:
    """em_1, held for c_7: received and fetched with its conversation, as the poll does."""
    return em_1_held()


def admin(email: str = "rita@example.com", admin_id: str = "991") -> dict:
    return {"type": "admin", "id": admin_id, "name": "Teammate", "email": email}


def initialize_body(*, conversation_id: str = "c_7", teammate: dict | None = None) -> dict:
    """What Intercom posts when a teammate opens the conversation (contracts/intercom.md, Inbox apps)."""
    return {
        "workspace_id": "ws_1",
        "workspace_region": "us",
        "admin": teammate if teammate is not None else admin(),
        "conversation": {"type": "conversation", "id": conversation_id},
        "contact": {"type": "user", "id": "ct_1"},
        "context": {"location": "conversation_details_pane"},
        "card_creation_options": {},
    }


def submit_body(shown_canvas: dict, component_id: str, *, input_values: dict | None = None, **fields) -> dict:
    """What Intercom posts when the teammate clicks `component_id` on the canvas it showed."""
    body = initialize_body(**fields)
    return {
        **body,
        "component_id": component_id,
        "input_values": input_values or {},
        "current_canvas": shown_canvas["canvas"],
        "user": {"type": "user", "id": "ct_1"},
    }


def post(client, url: str, body, *, signature: str | None = "good", secret: str = SECRET):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature == "good":
        headers[canvas.HEADER] = canvas.sign(raw, secret)
    elif signature is not None:
        headers[canvas.HEADER] = signature
    return client.post(url, data=raw, content_type="application/json", headers=headers)


def components(answer) -> list[dict]:
    return answer.json()["canvas"]["content"]["components"]


def texts(answer, style: str | None = None) -> list[str]:
    return [c["text"] for c in components(answer) if c["type"] == "text" and style in (None, c["style"])]


def component_ids(answer) -> set[str]:
    return {c["id"] for c in components(answer) if "id" in c}
