import pytest

from reviewqueue.integrations.intercom.client import IntercomClient
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import make_app
from reviewqueue.sandbox.server import serve_in_thread


@pytest.fixture
def sandbox():
    """The Intercom sandbox served on a free loopback port (no webhooks unless a test sets the URL)."""
    app = make_app()
    with serve_in_thread(app) as server:
        app.url = server.url
        yield app
    app.close()


@pytest.fixture
def sandbox_client(sandbox):
    with IntercomClient(base_url=sandbox.url, access_token=defaults.ACCESS_TOKEN, sleep=lambda s: None) as client:
        yield client


@pytest.fixture
def customer_conversation(sandbox):
    """A customer who wrote in: (contact, conversation)."""
    contact = sandbox.state.contact_create(email="dana@example.com", name="Dana Reyes")
    conversation, _ = sandbox.state.conversation_create(
        contact_id=contact["id"], body="<p>My order arrived damaged.</p>"
    )
    return contact, conversation
