"""The MultiMail sandbox in-process for the oversight tests: every MultiMail client in the code talks to it."""

import httpx

from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app


def multimail_sandbox(monkeypatch, *, transport_class=httpx.WSGITransport):
    """The sandbox app (no delivery delay, no sender thread) with `.client` (oversight, send and admin
    keys) and `.transport` (a `transport_class(app=…)`, e.g. one that counts requests)."""
    app = make_app(knobs=Knobs(delivery_ms=0), start_sender=False)
    transport = transport_class(app=app)
    client = MultiMailClient(
        base_url="http://multimail.sandbox", api_key=defaults.OVERSIGHT_KEY, send_api_key=defaults.SEND_KEY,
        admin_api_key=defaults.ADMIN_KEY, transport=transport,
    )  # fmt: skip
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client)
    app.transport = transport
    app.client = client
    return app
