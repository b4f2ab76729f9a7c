import httpx
import pytest

from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import make_app
from reviewqueue.sandbox.server import serve_in_thread


@pytest.fixture
def sandbox(tmp_path):
    app = make_app(state_path=tmp_path / "intercom.json")
    with serve_in_thread(app) as server:
        app.url = server.url
        yield app
    app.close()


@pytest.fixture
def api(sandbox):
    """Raw HTTP to the sandbox with its access token, as Intercom's API is spoken."""
    headers = {"Authorization": f"Bearer {defaults.ACCESS_TOKEN}", "Intercom-Version": "2.14"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5) as client:
        yield client
