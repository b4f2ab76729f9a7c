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
