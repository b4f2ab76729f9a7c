"""bench/soak.py's agent: a callback receiver the soak's intake token points at, and the check of what it got.

The receiver verifies each Standard Webhooks delivery (webhook-id, webhook-timestamp, webhook-signature)
with the endpoint's secret, records it by webhook-id, and answers 2xx, except a seeded share answered
500 so the sender must deliver again (under the same webhook-id). Afterwards, against our callback
deliveries: lost = an event we hold delivered (or owed: a decision carried out for an intake draft)
that never arrived; doubled = one draft event that arrived under two different webhook-ids. A redelivery
under the same webhook-id is what the spec asks receivers to deduplicate: counted, never a double.
"""

from __future__ import annotations

import collections
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_SHARE = 0.05  # answered 500: the sender must try again, with the same webhook-id


class CallbackReceiver:
    def __init__(self, seed: int):
        self.secret = ""  # set once the endpoint is made (its secret is shown once)
        self.rng = random.Random(seed + 5)
        self.lock = threading.Lock()
        self.arrivals: collections.Counter = collections.Counter()  # webhook-id -> accepted arrivals
        self.events: dict[str, tuple[int, str]] = {}  # webhook-id -> (draft_id, event type)
        self.refused_on_purpose = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(receiver.receive(dict(self.headers), body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, name="soak-callbacks", daemon=True)
        self.thread.start()

    def receive(self, headers: dict, body: bytes) -> int:
        from standardwebhooks import WebhookVerificationError

        from reviewqueue.callbacks.signing import verify

        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            envelope = verify(secret=self.secret, headers=lowered, body=body)
        except (WebhookVerificationError, ValueError):
            with self.lock:
                self.bad_signatures += 1
            return 401
        with self.lock:
            if self.rng.random() < FAIL_SHARE:
                self.refused_on_purpose += 1
                return 500
            webhook_id = lowered["webhook-id"]
            if isinstance(envelope, bytes | str):
                envelope = json.loads(envelope)
            self.events[webhook_id] = (int(envelope["data"]["draft_id"]), envelope["type"])
            self.arrivals[webhook_id] += 1
        return 204

    def snapshot(self) -> tuple[dict, collections.Counter]:
        with self.lock:
            return dict(self.events), collections.Counter(self.arrivals)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def intake_token_with_callback(receiver: CallbackReceiver) -> str:
    """A new intake token whose callbacks go to the receiver (local: CALLBACK_ALLOW_PRIVATE_NETWORKS)."""
    from django.conf import settings

    from reviewqueue.audit.services import Actor
    from reviewqueue.callbacks.services import endpoint_set
    from reviewqueue.routing.services import intake_token_issue

    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    actor = Actor.system("soak")
    token, raw = intake_token_issue(name="soak agent", actor=actor)
    _, receiver.secret = endpoint_set(token=token, url=receiver.url, actor=actor)
    return raw


def callbacks_check(draft_ids: list[int], intake_ids: set[int], receiver: CallbackReceiver) -> dict:
    """Our deliveries against what the receiver got. Reads ours first: a delivery we hold delivered was
    recorded by the receiver before it answered."""
    from reviewqueue.callbacks.models import CallbackDelivery
    from reviewqueue.review.models import Decision, OutboxItem

    ours = list(
        CallbackDelivery.objects.filter(draft_id__in=draft_ids).values_list("draft_id", "event", "webhook_id", "status")
    )
    # Decisions carried out for drafts with an intake token: each owes its agent draft.approved or draft.rejected.
    carried = set(
        OutboxItem.objects.filter(draft_id__in=draft_ids, kind="decide", status="done").values_list(
            "draft_id", flat=True
        )
    )
    with_token = carried & intake_ids
    actions = dict(Decision.objects.filter(draft_id__in=with_token).values_list("draft_id", "action"))
    events, arrivals = receiver.snapshot()

    received = collections.defaultdict(set)  # (draft, event) -> webhook-ids
    for webhook_id, key in events.items():
        received[key].add(webhook_id)
    held = {(draft_id, event) for draft_id, event, _, _ in ours}
    lost, doubled, stuck, failed = [], [], 0, 0
    for draft_id, event, webhook_id, status in ours:
        if status in ("pending", "running"):
            stuck += 1
        elif status == "failed":
            failed += 1
            lost.append(f"draft {draft_id} {event}: failed ({webhook_id})")
        elif webhook_id not in events:
            lost.append(f"draft {draft_id} {event}: delivered by us, never received ({webhook_id})")
    wanted = {"approve": "draft.approved", "reject": "draft.rejected", "request_changes": "draft.changes_requested"}
    for draft_id, action in actions.items():
        if (draft_id, wanted[action]) not in held:
            lost.append(f"draft {draft_id}: decision carried out, no {wanted[action]} callback queued")
    for key, ids in received.items():
        if len(ids) > 1:
            doubled.append(f"draft {key[0]} {key[1]}: {len(ids)} webhook-ids")
    return {
        "deliveries": len(ours),
        "received": len(events),
        "redelivered": sum(n - 1 for n in arrivals.values() if n > 1) + receiver.refused_on_purpose,
        "lost": len(lost),
        "doubled": len(doubled),
        "stuck": stuck,
        "failed": failed,
        "bad_signatures": receiver.bad_signatures,
        "examples": (lost + doubled)[:5],
    }
