"""The shared sandbox server helper serves a WSGI app on a free loopback port and stops cleanly."""

import httpx
import pytest

from reviewqueue.sandbox.server import serve_in_thread


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


def test_serves_app_on_free_loopback_port_and_stops():
    with serve_in_thread(hello_app) as server:
        assert server.port > 0
        assert httpx.get(f"{server.url}/ping").text == "/ping"
        url = server.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/ping", timeout=1)


def test_keeps_the_connection_alive_between_calls():
    """One client's calls share one TCP connection (Werkzeug's own handler closed every one)."""
    with serve_in_thread(hello_app) as server, httpx.Client(base_url=server.url) as client:
        first = client.get("/one")
        second = client.post("/two", content=b"x" * 10_000)  # a body the app never reads
        third = client.get("/three")
        assert [first.text, second.text, third.text] == ["/one", "/two", "/three"]
        assert "close" not in first.headers.get("Connection", "")
        assert len(server.server._open) == 1


def test_stopping_closes_kept_alive_connections():
    with httpx.Client() as client:
        with serve_in_thread(hello_app) as server:
            assert client.get(f"{server.url}/ping").text == "/ping"
            url = server.url
        with pytest.raises(httpx.TransportError):
            client.get(f"{url}/ping", timeout=1)
