"""Serve a sandbox WSGI app on loopback: blocking for `python -m …`, or in a thread for tests/benches.

    with serve_in_thread(make_app()) as server:
        httpx.get(f"{server.url}/v1/mailboxes")

Port 0 picks a free port (tests and benches must never use a fixed one).

Connections are kept alive (HTTP/1.1), as a real vendor's are: Werkzeug's own handler answers every
request with `Connection: close`, so each call of a client paid a new TCP connection on both sides,
which was most of a small call's CPU. Stopping a server closes the connections it holds open.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

# An idle kept-alive connection is closed after this long (httpx drops its own idle ones after 5 s).
IDLE_SECONDS = 60
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding"}


class KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's handler, answering on the same connection until the client closes it.

    The request body is read whole before the app runs, so the next request on the connection starts
    where this one ended whatever the app read; the answer is sent with its Content-Length. Requests
    this does not take on (a chunked body, Expect: 100-continue, HEAD) go through Werkzeug's own
    handler, which closes the connection after answering.
    """

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    # The head and the body leave in two writes: with Nagle's algorithm the body waited for the
    # client's delayed ACK of the head, about 40 ms on every kept-alive call (TCP_NODELAY, as servers set).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened(self.connection)

    def finish(self) -> None:
        self.server.connection_closed(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if (
            self.command == "HEAD"
            or "Transfer-Encoding" in self.headers
            or "Expect" in self.headers
            or not length.isdigit()
        ):
            return super().run_wsgi()
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(length)))
        status, headers, body = self._app_answer(environ)
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:  # the client asked to close (or spoke HTTP/1.0)
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _app_answer(self, environ) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list = []
        chunks: list[bytes] = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            self.close_connection = True
            return "500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")], b"Internal Server Error"
        return started[0], started[1], b"".join(chunks)

    def log_request(self, code="-", size="-") -> None:
        # One line per request, about a tenth of a busy sandbox's CPU: SANDBOX_ACCESS_LOG=0 leaves it out.
        if os.environ.get("SANDBOX_ACCESS_LOG", "1") != "0":
            super().log_request(code, size)

    def log_error(self, format: str, *args) -> None:
        if not format.startswith("Request timed out"):  # an idle kept-alive connection closed: not an error
            super().log_error(format, *args)


class KeepAliveServer(ThreadedWSGIServer):
    """A threaded Werkzeug server (one thread per connection) that closes its open connections when closed."""

    def __init__(self, host: str, port: int, app) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(host, port, app, handler=KeepAliveHandler)

    def connection_opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)

    def connection_closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def server_close(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:  # wakes each connection's thread, which then ends
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        super().server_close()


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def build_server(app, *, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    return KeepAliveServer(host, port, app)


def start_in_thread(app, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    server = build_server(app, host=host, port=port)
    # A short poll interval: stop() waits up to one interval, and tests start and stop many servers.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox:{server.server_port}", daemon=True
    )
    thread.start()
    return RunningServer(server=server, thread=thread)


@contextmanager
def serve_in_thread(app, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
    running = start_in_thread(app, host=host, port=port)
    try:
        yield running
    finally:
        running.stop()


def serve_forever(app, *, host: str = "127.0.0.1", port: int) -> None:
    """Blocking: the `python -m reviewqueue.sandbox.<vendor>` entry points."""
    server = build_server(app, host=host, port=port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
