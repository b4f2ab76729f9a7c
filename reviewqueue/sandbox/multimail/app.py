"""A local MultiMail: the calls reviewqueue makes, in the shapes of contracts/multimail-openapi.json.

    app = make_app(state_path="var/sandbox/multimail.json", knobs=Knobs(latency_ms=20))

Bearer keys with scopes (pre-provisioned: see defaults.py), `{"error": …}` errors, 429 with
`Retry-After`, signed webhooks posted from a background thread. Knobs (latency, error and 429
rates, scan and delivery delays, …) are set at start or through `POST /_sandbox/knobs`, a
sandbox-only endpoint; `POST /_sandbox/inbound` simulates a customer writing to a mailbox.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, fields

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from reviewqueue.sandbox.multimail.state import SandboxError, SandboxState
from reviewqueue.sandbox.multimail.webhooks import WebhookSender

ENV_PREFIX = "MULTIMAIL_SANDBOX_"


@dataclass
class Knobs:
    latency_ms: float = 0.0  # added to every /v1 call
    error_rate: float = 0.0  # fraction of /v1 calls answered 500
    rate_limit_rate: float = 0.0  # fraction of /v1 calls answered 429
    retry_after: int = 1  # seconds, in the Retry-After of those 429s
    scan_ms: float = 0.0  # how long a send stays pending_scan
    delivery_ms: float = 200.0  # from leaving to delivered_at / bounced_at
    mailbox_limit: int = 25  # the plan's mailbox limit (403 beyond it)
    require_mailbox_approval: bool = False  # POST /v1/mailboxes answers 202 until given the emailed code
    webhook_max_attempts: int = 8  # 1+2+…+64 s of retries: outlasts a slow `make run` start
    webhook_retry_ms: float = 1000.0  # first retry delay; doubles each attempt
    # Webhook chaos (webhooks.py), as a real sender's at-least-once delivery plays it: posted twice under
    # the same id, held back so later events overtake it, or followed by a forged copy (bad signature).
    webhook_duplicate_rate: float = 0.0
    webhook_reorder_rate: float = 0.0
    webhook_forge_rate: float = 0.0
    clock_skew_seconds: float = 0.0  # added to the sandbox's clock: event timestamps and schedules; may be < 0

    @property
    def webhook_retry_seconds(self) -> float:
        return self.webhook_retry_ms / 1000

    def update(self, changes: dict) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise SandboxError(400, f"unknown knob {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            try:
                if isinstance(current, bool):
                    value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
                else:
                    value = type(current)(value)
            except (TypeError, ValueError):
                raise SandboxError(400, f"bad value for knob {name!r}: {value!r}") from None
            if not isinstance(value, bool) and value < 0 and name != "clock_skew_seconds":
                raise SandboxError(400, f"knob {name!r} cannot be negative")
            if name.endswith("_rate") and value > 1:
                raise SandboxError(400, f"knob {name!r} is a fraction between 0 and 1")
            setattr(self, name, value)

    @classmethod
    def from_env(cls, environ=os.environ) -> Knobs:
        knobs = cls()
        knobs.update(
            {
                f.name: environ[ENV_PREFIX + f.name.upper()]
                for f in fields(cls)
                if ENV_PREFIX + f.name.upper() in environ
            }
        )
        return knobs


def _json(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, mimetype="application/json")


def _int_param(request: Request, name: str, default: int, *, low: int = 1, high: int = 100) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SandboxError(400, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise SandboxError(400, f"{name} must be between {low} and {high}")
    return value


def _cursor(request: Request) -> int | None:
    raw = request.args.get("cursor")
    if raw in (None, ""):
        return None
    try:
        cursor = int(raw)
    except ValueError:
        raise SandboxError(400, "cursor is not valid") from None
    if cursor < 0:
        raise SandboxError(400, "cursor is not valid")
    return cursor


class MultiMailSandbox:
    def __init__(self, state: SandboxState, knobs: Knobs):
        self.state = state
        self.knobs = knobs
        self.apply_knobs()
        self.sender = WebhookSender(state, knobs)
        rules = [
            ("/v1/oversight/pending", "GET", "pending"),
            ("/v1/oversight/decide", "POST", "decide"),
            ("/v1/mailboxes", "GET", "mailboxes_list"),
            ("/v1/mailboxes", "POST", "mailbox_create"),
            ("/v1/mailboxes/<mailbox_id>", "PATCH", "mailbox_update"),
            ("/v1/mailboxes/<mailbox_id>", "DELETE", "mailbox_delete"),
            ("/v1/mailboxes/<mailbox_id>/send", "POST", "send"),
            ("/v1/mailboxes/<mailbox_id>/emails", "GET", "emails_list"),
            ("/v1/mailboxes/<mailbox_id>/emails/<email_id>", "GET", "email_get"),
            ("/v1/mailboxes/<mailbox_id>/emails/<email_id>/cancel", "POST", "cancel"),
            ("/v1/mailboxes/<mailbox_id>/emails/<email_id>/tags", "PUT", "tags_set"),
            ("/v1/mailboxes/<mailbox_id>/threads/<thread_id>", "GET", "thread"),
            ("/v1/webhooks", "GET", "webhooks_list"),
            ("/v1/webhooks", "POST", "webhook_create"),
            ("/v1/webhooks/<webhook_id>", "GET", "webhook_get"),
            ("/v1/webhooks/<webhook_id>", "DELETE", "webhook_delete"),
            ("/v1/webhook-deliveries", "GET", "deliveries"),
            ("/v1/audit-log", "GET", "audit_log"),
            ("/v1/api-keys", "GET", "keys_list"),
            ("/v1/api-keys", "POST", "key_create"),
            ("/_sandbox/knobs", "GET", "knobs_get"),
            ("/_sandbox/knobs", "POST", "knobs_set"),
            ("/_sandbox/webhook-chaos", "GET", "webhook_chaos"),
            ("/_sandbox/inbound", "POST", "inbound"),
            ("/_sandbox/approval-codes", "GET", "approval_codes"),
            ("/.well-known/multimail-signing-key", "GET", "signing_key"),
            ("/v1/mailboxes/<mailbox_id>/request-upgrade", "POST", "upgrade_request"),
            ("/v1/mailboxes/<mailbox_id>/upgrade", "POST", "upgrade_redeem"),
            ("/_sandbox/upgrade-codes", "GET", "upgrade_codes"),
            ("/v1/account", "GET", "account"),
            ("/_sandbox/emails/<email_id>.eml", "GET", "email_eml"),
        ]
        self.url_map = Map([Rule(path, methods=[method], endpoint=name) for path, method, name in rules])

    def apply_knobs(self) -> None:
        self.state.scan_seconds = self.knobs.scan_ms / 1000
        self.state.delivery_seconds = self.knobs.delivery_ms / 1000
        self.state.mailbox_limit = self.knobs.mailbox_limit
        self.state.require_mailbox_approval = self.knobs.require_mailbox_approval

    def start(self) -> None:
        self.sender.start()

    def stop(self) -> None:
        self.sender.stop()

    # --- WSGI ---

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except SandboxError as error:
            response = _json({"error": error.message}, error.status, error.headers)
        except MethodNotAllowed:
            response = _json({"error": "Method not allowed"}, 405)
        except NotFound:
            response = _json({"error": "Not found"}, 404)
        except HTTPException as error:
            response = _json({"error": error.description or error.name}, error.code or 500)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        endpoint, params = self.url_map.bind_to_environ(request.environ).match()
        if request.path.startswith("/v1/"):
            self._faults()
        return getattr(self, f"on_{endpoint}")(request, **params)

    def _faults(self) -> None:
        if self.knobs.latency_ms:
            time.sleep(self.knobs.latency_ms / 1000)
        if self.knobs.rate_limit_rate and random.random() < self.knobs.rate_limit_rate:
            raise SandboxError(429, "Rate limit exceeded", {"Retry-After": str(self.knobs.retry_after)})
        if self.knobs.error_rate and random.random() < self.knobs.error_rate:
            raise SandboxError(500, "Internal error (sandbox error_rate)")

    @staticmethod
    def _body(request: Request) -> dict:
        if not request.data:
            return {}
        try:
            body = json.loads(request.data)
        except (ValueError, UnicodeDecodeError):
            raise SandboxError(400, "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SandboxError(400, "Request body must be a JSON object")
        return body

    def _key(self, request: Request, scope: str) -> dict:
        return self.state.authenticate(request.headers.get("Authorization"), scope)

    # --- oversight ---

    def on_pending(self, request):
        self._key(request, "oversight")
        return _json({"emails": self.state.pending()})

    def on_decide(self, request):
        key = self._key(request, "oversight")
        body = self._body(request)
        return _json(
            self.state.decide(
                actor=key, email_id=body.get("email_id"), action=body.get("action"), reason=body.get("reason")
            )
        )

    # --- mailboxes ---

    def on_mailboxes_list(self, request):
        self._key(request, "read")
        return _json({"mailboxes": self.state.mailboxes_list()})

    def on_mailbox_create(self, request):
        key = self._key(request, "admin")
        body = self._body(request)
        status, result = self.state.mailbox_create(
            actor=key,
            address_local=body.get("address_local"),
            display_name=body.get("display_name"),
            webhook_url=body.get("webhook_url"),
            approval_code=body.get("approval_code"),
        )
        return _json(result, status)

    def on_mailbox_update(self, request, mailbox_id):
        key = self._key(request, "admin")
        self.state.mailbox_update(actor=key, mailbox_id=mailbox_id, changes=self._body(request))
        return _json({"status": "updated"})

    def on_mailbox_delete(self, request, mailbox_id):
        key = self._key(request, "admin")
        self.state.mailbox_delete(actor=key, mailbox_id=mailbox_id)
        return _json({"status": "deleted"})

    # --- emails ---

    def on_send(self, request, mailbox_id):
        key = self._key(request, "send")
        status, result = self.state.send(actor=key, mailbox_id=mailbox_id, body=self._body(request))
        return _json(result, status)

    def on_emails_list(self, request, mailbox_id):
        self._key(request, "read")
        status = request.args.get("status") or None
        direction = request.args.get("direction") or None
        if direction not in (None, "inbound", "outbound"):
            raise SandboxError(400, "direction must be inbound or outbound")
        return _json(
            self.state.emails_list(
                mailbox_id=mailbox_id,
                status=status,
                direction=direction,
                limit=_int_param(request, "limit", 20),
                cursor=_cursor(request),
            )
        )

    def on_email_get(self, request, mailbox_id, email_id):
        self._key(request, "read")
        return _json(self.state.email_get(mailbox_id=mailbox_id, email_id=email_id))

    def on_cancel(self, request, mailbox_id, email_id):
        key = self._key(request, "send")
        return _json(self.state.cancel(actor=key, mailbox_id=mailbox_id, email_id=email_id))

    def on_tags_set(self, request, mailbox_id, email_id):
        key = self._key(request, "send")
        tags = self._body(request).get("tags")
        return _json(self.state.tags_set(actor=key, mailbox_id=mailbox_id, email_id=email_id, tags=tags))

    def on_thread(self, request, mailbox_id, thread_id):
        self._key(request, "read")
        return _json(self.state.thread(mailbox_id=mailbox_id, thread_id=thread_id))

    # --- webhooks ---

    def on_webhooks_list(self, request):
        self._key(request, "admin")
        return _json({"subscriptions": self.state.webhooks_list()})

    def on_webhook_create(self, request):
        key = self._key(request, "admin")
        body = self._body(request)
        webhook = self.state.webhook_create(
            actor=key, url=body.get("url"), events=body.get("events"), mailbox_id=body.get("mailbox_id")
        )
        return _json(webhook, 201)

    def on_webhook_get(self, request, webhook_id):
        self._key(request, "admin")
        return _json(self.state.webhook_get(webhook_id))

    def on_webhook_delete(self, request, webhook_id):
        key = self._key(request, "admin")
        self.state.webhook_delete(actor=key, webhook_id=webhook_id)
        return _json({"status": "deleted"})

    def on_deliveries(self, request):
        self._key(request, "admin")
        page = self.state.deliveries_page(limit=_int_param(request, "limit", 50), cursor=_cursor(request))
        return _json({"deliveries": page["items"], "cursor": page["cursor"]})

    def on_audit_log(self, request):
        self._key(request, "admin")
        page = self.state.audit_page(limit=_int_param(request, "limit", 50), cursor=_cursor(request))
        return _json({"entries": page["items"], "cursor": page["cursor"]})

    # --- api keys ---

    def on_keys_list(self, request):
        self._key(request, "admin")
        return _json({"api_keys": self.state.keys_list()})

    def on_key_create(self, request):
        key = self._key(request, "admin")
        body = self._body(request)
        return _json(self.state.key_create(actor=key, name=body.get("name"), scopes=body.get("scopes")), 201)

    # --- sandbox-only controls ---

    def on_knobs_get(self, request):
        return _json(asdict(self.knobs))

    def on_webhook_chaos(self, request):
        """What the webhook chaos knobs did: how many deliveries duplicated, held back, forged (and their ids)."""
        return _json(self.sender.chaos())

    def on_knobs_set(self, request):
        self.knobs.update(self._body(request))
        self.apply_knobs()
        return _json(asdict(self.knobs))

    def on_inbound(self, request):
        body = self._body(request)
        mailbox_id = body.get("mailbox_id")
        if not isinstance(mailbox_id, str):
            raise SandboxError(400, "mailbox_id is required")
        return _json(self.state.inbound(mailbox_id=mailbox_id, body=body), 201)

    def on_upgrade_request(self, request, mailbox_id):
        key = self._key(request, "send")
        target = self._body(request).get("target_mode")
        return _json(self.state.upgrade_request(actor=key, mailbox_id=mailbox_id, target_mode=target))

    def on_upgrade_redeem(self, request, mailbox_id):
        key = self._key(request, "send")
        return _json(self.state.upgrade_redeem(actor=key, mailbox_id=mailbox_id, code=self._body(request).get("code")))

    def on_account(self, request):
        self._key(request, "read")
        return _json(self.state.account())

    def on_upgrade_codes(self, request):
        return _json(self.state.upgrade_codes())

    def on_signing_key(self, request):
        return _json(self.state.public_key_document())

    def on_email_eml(self, request, email_id):
        eml = self.state.email_eml(email_id=email_id)
        headers = {"Content-Disposition": f'attachment; filename="{email_id}.eml"'}
        return Response(eml, headers=headers, mimetype="message/rfc822")

    def on_approval_codes(self, request):
        with self.state.lock:
            return _json(dict(self.state.data["approval_codes"]))


def make_app(
    state_path: str | os.PathLike | None = None,
    knobs: Knobs | None = None,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    seed_demo: bool = False,
    start_sender: bool = True,
) -> MultiMailSandbox:
    """Build the sandbox. `seed_demo` adds the demo gated_send mailbox and, with `webhook_url`, a
    subscription to every event signed with `webhook_secret` (the local default's fixed secret)."""
    from reviewqueue.sandbox.multimail import defaults

    knobs = knobs or Knobs.from_env()
    state = SandboxState(state_path, clock=lambda: time.time() + knobs.clock_skew_seconds)
    app = MultiMailSandbox(state, knobs)
    if seed_demo:
        state.seed_demo(webhook_url=webhook_url, webhook_secret=webhook_secret or defaults.WEBHOOK_SECRET)
    if start_sender:
        app.start()
    return app
