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


@pytest.mark.parametrize(("setting", "logged"), [(None, True), ("1", True), ("0", False)])
def test_the_access_log_line_per_request_can_be_turned_off(setting, logged, monkeypatch, caplog):
    """SANDBOX_ACCESS_LOG=0 (benchmarks) leaves out Werkzeug's line per request; errors are still logged."""
    if setting is None:
        monkeypatch.delenv("SANDBOX_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("SANDBOX_ACCESS_LOG", setting)
    with caplog.at_level("INFO", logger="werkzeug"), serve_in_thread(hello_app) as server:
        assert httpx.get(f"{server.url}/logged-or-not").status_code == 200
    assert any("/logged-or-not" in record.getMessage() for record in caplog.records) is logged
