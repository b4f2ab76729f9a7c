"""Serve a sandbox WSGI app on loopback: blocking for `python -m …`, or in a thread for tests/benches.

    with serve_in_thread(make_app()) as server:
        httpx.get(f"{server.url}/v1/mailboxes")

Port 0 picks a free port (tests and benches must never use a fixed one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server


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
    return make_server(host, port, app, threaded=True)


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
