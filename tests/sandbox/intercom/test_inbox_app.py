"""The Intercom sandbox plays the Inbox for reviewqueue's Inbox app: a conversation's page draws the panel
from the real endpoints, signed, and a click submits back (here through Django's test client)."""

from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from werkzeug.test import Client as SandboxBrowser

from reviewqueue.review.models import Decision
from reviewqueue.sandbox.intercom.app import Knobs, make_app
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

SECRET = "sandbox-inbox-app-secret"


class DjangoTransport(httpx.BaseTransport):
    """httpx requests answered by reviewqueue in this process (Django's test client, the test's database)."""

    def __init__(self):
        self.client = Client()
        self.requests = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        answer = self.client.generic(
            request.method,
            urlsplit(str(request.url)).path,
            data=request.read(),
            content_type=request.headers.get("content-type", ""),
            headers=headers,
        )
        return httpx.Response(answer.status_code, headers=dict(answer.headers), content=answer.content)


@pytest.fixture
def reviewqueue(settings):
    settings.INTERCOM_CLIENT_SECRET = SECRET
    return DjangoTransport()


@pytest.fixture
def sandbox(reviewqueue):
    app = make_app(
        client_secret=SECRET,
        knobs=Knobs(inbox_app_url="http://testserver/integrations/intercom/canvas"),
        inbox_transport=reviewqueue,
    )
    yield app
    app.close()


@pytest.fixture
def conversation(sandbox) -> dict:
    contact = sandbox.state.contact_create(email="cleo@example.com", name="Cleo")
    conversation, _ = sandbox.state.conversation_create(contact_id=contact["id"], body="Where is my order?")
    return conversation


def page_of(sandbox, conversation, teammate="rita@example.com") -> tuple[SandboxBrowser, str, str]:
    url = f"/a/inbox/sandboxapp/inbox/conversation/{conversation['id']}"
    browser = SandboxBrowser(sandbox)
    answer = browser.get(url, query_string={"as": teammate})
    assert answer.status_code == 200
    return browser, url, answer.get_data(as_text=True)


def test_the_conversation_page_shows_the_apps_panel_drawn_by_reviewqueue(sandbox, conversation, reviewqueue, reviewer):
    draft = received_draft(conversation_id=conversation["id"], subject="Your order <shipped>")
    _, _, page = page_of(sandbox, conversation)
    assert "Where is my order?" in page  # the conversation
    assert "Your order &lt;shipped&gt;" in page  # the panel, escaped
    assert f'name="component_id" value="approve:{draft.pk}"' in page
    assert f'name="input:reason:{draft.pk}"' in page
    [initialize] = reviewqueue.requests
    assert initialize.url.path == "/integrations/intercom/canvas/initialize"
    assert len(initialize.headers["X-Body-Signature"]) == 64


def test_approving_in_the_sandboxs_panel_decides_from_intercom(sandbox, conversation, reviewqueue, reviewer):
    draft = received_draft(conversation_id=conversation["id"])
    browser, url, _ = page_of(sandbox, conversation)
    answer = browser.post(url, data={"as": "rita@example.com", "component_id": f"approve:{draft.pk}"})
    assert answer.status_code == 200
    decision = Decision.objects.get(draft=draft)
    assert (decision.origin, decision.reviewer) == ("intercom", reviewer)
    assert "About your order»: approved." in answer.get_data(as_text=True)
    assert reviewqueue.requests[-1].url.path == "/integrations/intercom/canvas/submit"


def test_rejecting_sends_the_text_box_and_without_it_the_box_is_marked(sandbox, conversation, reviewqueue, reviewer):
    draft = received_draft(conversation_id=conversation["id"])
    browser, url, _ = page_of(sandbox, conversation)
    empty = browser.post(url, data={"as": "rita@example.com", "component_id": f"reject:{draft.pk}"})
    assert 'class="failed"' in empty.get_data(as_text=True) and not Decision.objects.exists()
    form = {"as": "rita@example.com", "component_id": f"reject:{draft.pk}", f"input:reason:{draft.pk}": "Tone"}
    browser.post(url, data=form)
    assert Decision.objects.get(draft=draft).reason == "Tone"


def test_a_teammate_who_is_not_a_reviewer_sees_no_buttons(sandbox, conversation, reviewqueue, reviewer):
    received_draft(conversation_id=conversation["id"])
    _, _, page = page_of(sandbox, conversation, teammate="stranger@example.com")
    assert 'name="component_id"' not in page and "is not that of an active person" in page


def test_an_app_that_does_not_answer_is_said_on_the_page(conversation, settings):
    def down(request):
        raise httpx.ConnectError("connection refused", request=request)

    app = make_app(
        client_secret=SECRET,
        knobs=Knobs(inbox_app_url="http://127.0.0.1:9/integrations/intercom/canvas"),
        inbox_transport=httpx.MockTransport(down),
    )
    app.state.data["conversations"][conversation["id"]] = conversation
    _, _, page = page_of(app, conversation)
    assert "Inbox app: the app did not answer" in page
    app.close()
