"""The MultiMail client's added cost per call, against a bare httpx call to the same endpoint.

    .venv/bin/python bench/multimail_client.py            # 3,000 calls per endpoint and side
    .venv/bin/python bench/multimail_client.py --quick    # 300, for a first look

Serves the MultiMail sandbox on a free loopback port (threaded Werkzeug server, in this process)
and calls two endpoints both ways, alternating call by call so drift hits both sides alike:
- GET /v1/oversight/pending with 20 held emails: the client parses them into PendingEmail
  dataclasses; the bare side is `httpx.Client.get(...).json()` with the same key and keep-alive;
- GET /v1/mailboxes/{id}/emails/{id}: Email dataclass vs bare JSON.
Prints median (and mean) µs per call for each side, the difference (the client's added cost) and the ratio
(target ≤ 1.2). No database or broker is needed.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import report  # noqa: E402

from reviewqueue.integrations.multimail.client import MultiMailClient  # noqa: E402
from reviewqueue.sandbox.multimail import defaults  # noqa: E402
from reviewqueue.sandbox.multimail.app import Knobs, make_app  # noqa: E402
from reviewqueue.sandbox.server import serve_in_thread  # noqa: E402

TARGET = 1.2
BATCH = 50


def seed(client: MultiMailClient, held: int) -> tuple[str, str]:
    mailbox = client.create_mailbox(address_local="bench")
    email_id = ""
    for i in range(held):
        email_id = client.send(
            mailbox_id=mailbox.id,
            to=[f"customer{i}@example.com"],
            subject=f"Re: order {i}",
            markdown="Thanks for writing in. " * 20,
        ).id
    return mailbox.id, email_id


def compare(name: str, client_call, bare_call, calls: int) -> None:
    for _ in range(BATCH):  # warm both connections and code paths
        client_call()
        bare_call()
    # Call by call, alternating which side goes first: a load spike from other work on the machine
    # hits both sides alike instead of one batch.
    client_times: list[float] = []
    bare_times: list[float] = []
    for i in range(calls):
        first, second = ((client_call, client_times), (bare_call, bare_times))[:: 1 if i % 2 else -1]
        for call, times in (first, second):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    # Medians: this machine runs other work too, and a mean is at the mercy of a few scheduling stalls.
    client_us = statistics.median(client_times) * 1e6
    bare_us = statistics.median(bare_times) * 1e6
    ratio = client_us / bare_us
    print(
        f"{name}: client p50 {client_us:8.1f} µs/call (mean {statistics.mean(client_times) * 1e6:.1f}), "
        f"bare httpx p50 {bare_us:8.1f} µs/call (mean {statistics.mean(bare_times) * 1e6:.1f}), "
        f"added {client_us - bare_us:+.1f} µs, ratio {ratio:.3f} (target <= {TARGET})"
    )
    report(
        f"MultiMail client p50 per call vs bare httpx, {name}",
        round(client_us, 1),
        unit="µs",
        target=f"ratio <= {TARGET}",
        baseline=f"{bare_us:.1f} µs bare httpx",
        ratio=ratio,
        ok=ratio <= TARGET,
    )


def cpu_per_call(call, calls: int) -> float:
    """µs of this thread's CPU per call: unlike wall time, not inflated by other processes' load."""
    start = time.thread_time()
    for _ in range(calls):
        call()
    return (time.thread_time() - start) / calls * 1e6


def in_memory(body: bytes, calls: int) -> None:
    """The same comparison with no server at all (httpx.MockTransport): the client's own cost, bare."""

    def answer(request):
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    transport = httpx.MockTransport(answer)
    client = MultiMailClient(base_url="http://mm.test", api_key=defaults.OVERSIGHT_KEY, transport=transport)
    bare = httpx.Client(base_url="http://mm.test", transport=transport, headers={"Authorization": "Bearer x"})
    for _ in range(BATCH):
        client.pending()
        bare.get("/v1/oversight/pending").json()
    client_us = cpu_per_call(client.pending, calls)
    bare_us = cpu_per_call(lambda: bare.get("/v1/oversight/pending").json(), calls)
    print(
        f"no server (MockTransport), pending, CPU of the calling thread: client {client_us:.1f} µs/call, "
        f"bare httpx {bare_us:.1f} µs/call, "
        f"added {client_us - bare_us:+.1f} µs per call (parsing 20 emails into dataclasses, checks, retry wrapper)"
    )
    report(
        "MultiMail client added CPU per call, no server (MockTransport), pending with 20 emails",
        round(client_us - bare_us, 1),
        unit="µs added",
        baseline=f"{bare_us:.1f} µs bare httpx",
        ratio=client_us / bare_us,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 calls per side instead of 3,000")
    parser.add_argument("--calls", type=int, help="calls per endpoint and side")
    parser.add_argument("--held", type=int, default=20, help="emails waiting in GET /v1/oversight/pending")
    args = parser.parse_args()
    calls = args.calls or (300 if args.quick else 3000)
    if calls < 1 or args.held < 1:
        parser.error("--calls and --held must be positive")

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log on either side
    app = make_app(None, Knobs(), start_sender=False)
    with serve_in_thread(app) as server:
        client = MultiMailClient(
            base_url=server.url,
            api_key=defaults.OVERSIGHT_KEY,
            send_api_key=defaults.SEND_KEY,
            admin_api_key=defaults.ADMIN_KEY,
        )
        bare = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {defaults.OVERSIGHT_KEY}", "Accept": "application/json"},
            timeout=httpx.Timeout(10.0, connect=3.0),
        )
        mailbox_id, email_id = seed(client, args.held)
        print(f"sandbox on {server.url}; {args.held} emails held; {calls} calls per side and endpoint")
        compare(
            f"GET /v1/oversight/pending ({args.held} held)",
            client.pending,
            lambda: bare.get("/v1/oversight/pending").json(),
            calls,
        )
        email_path = f"/v1/mailboxes/{mailbox_id}/emails/{email_id}"
        compare(
            "GET /v1/mailboxes/{id}/emails/{id}",
            lambda: client.get_email(mailbox_id=mailbox_id, email_id=email_id),
            lambda: bare.get(email_path).json(),
            calls,
        )
        pending_body = bare.get("/v1/oversight/pending").content
        client.close()
        bare.close()
    app.stop()
    in_memory(pending_body, calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
