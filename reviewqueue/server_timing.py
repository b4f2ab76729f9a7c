"""`Server-Timing: app;dur=<ms>` on every response: the time Django spent on it, from the outermost middleware.

Browsers show it in their developer tools beside the network time, and bench/review_flow.py reads it to
tell the server's share of each step from the browser's. It costs one clock read on the way in and one
on the way out. It says how long a request took, nothing about what it did, and a client can measure
that itself anyway.
"""

import time

HEADER = "Server-Timing"


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        # A streamed response's body is made after this returns: its figure covers the headers only.
        timing = f"app;dur={elapsed_ms:.1f}"
        existing = response.headers.get(HEADER)
        response.headers[HEADER] = f"{existing}, {timing}" if existing else timing
        return response
