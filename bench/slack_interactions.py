"""The Slack app's interactivity URL: how long reviewqueue takes to answer Slack, p50 and p99.

    .venv/bin/python bench/slack_interactions.py            # 500 clicks and 500 modal submissions
    .venv/bin/python bench/slack_interactions.py --quick    # 100 of each

Slack shows the user an error when the answer takes more than 3 s (contracts/slack.md), so the view
only verifies the signature (slack_sdk), reads the payload and queues the work: the target is p99 <=
100 ms, far inside 3 s, on a loaded machine. In-process through Django's test client with the whole
middleware stack and real signatures; the tasks go to this run's Redis (REDIS_URL) for real and are
purged at the end. The view reads no table, so no database is made.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _report import report  # noqa: E402

SECRET = "bench-slack-signing-secret"
TARGET_P99_MS = 100.0


def setup_django() -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["DEBUG"] = "0"
    os.environ["SLACK_SIGNING_SECRET"] = SECRET
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    import django

    django.setup()


def payloads(kind: str, count: int) -> list[dict]:
    if kind == "click":
        return [
            {
                "type": "block_actions",
                "user": {"id": "U0MAYA"},
                "trigger_id": f"{number}.1",
                "response_url": "https://hooks.slack.com/actions/T0/1/x",
                "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0REVIEWS"},
                "actions": [{"type": "button", "action_id": "approve", "value": f"{number + 1}:7"}],
            }
            for number in range(count)
        ]
    metadata = json.dumps({"draft_id": 12, "snapshot_id": 7, "response_url": "https://hooks.slack.com/actions/T0/1/x"})
    values = {"reason": {"reason_text": {"type": "plain_text_input", "value": "Wrong refund amount"}}}
    view = {"callback_id": "reviewqueue_reject", "private_metadata": metadata, "state": {"values": values}}
    return [{"type": "view_submission", "user": {"id": "U0MAYA"}, "view": view} for _ in range(count)]


def measure(client, items: list[dict]) -> list[float]:
    from reviewqueue.integrations.slack.signature import sign

    times = []
    for payload in items:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = sign(body, SECRET, int(time.time()))
        started = time.perf_counter()
        answer = client.post(
            "/integrations/slack/interactions",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            sys.exit(f"bench: the interactivity URL answered {answer.status_code}: {answer.content[:200]!r}")
    return times


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 100 if args.quick else args.requests
    setup_django()
    from django.test import Client

    from reviewqueue.celery import app

    client = Client()
    measure(client, payloads("click", 20))  # warm: imports, the broker connection
    results = {kind: measure(client, payloads(kind, count)) for kind in ("click", "submission")}
    purged = app.control.purge()
    print(f"purged {purged} queued tasks; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for kind, times in results.items():
        worst, median = p99(times), statistics.median(times)
        report(
            f"Slack interactivity URL, {kind}: answer time p99 ({count} requests; p50 {median:.1f} ms)",
            round(worst, 1),
            unit="ms",
            target=f"<= {TARGET_P99_MS:.0f} ms (Slack gives up after 3 s)",
            ok=worst <= TARGET_P99_MS,
        )


if __name__ == "__main__":
    main()
