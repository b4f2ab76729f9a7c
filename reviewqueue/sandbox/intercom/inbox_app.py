"""The sandbox plays Intercom's Inbox for an installed Inbox app (Canvas Kit; contracts/intercom.md).

With `inbox_app_url` set (the app's base URL, e.g. http://127.0.0.1:8000/integrations/intercom/canvas),
a conversation's page shows the app's panel beside it: the sandbox posts `<url>/initialize`, signed
with `X-Body-Signature` as Intercom signs it, and draws the canvas it gets back; a click on one of its
buttons posts `<url>/submit` with the component's id, the text boxes' values and the canvas shown
(its stored_data included), and draws the answer. The teammate is chosen on the page (`?as=<email>`),
since the sandbox does not know reviewqueue's people. Canvas text is markdown: shown here as the text
it spells (backslash escapes undone), HTML-escaped; links and bold are not rendered.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import threading

import httpx

DEFAULT_TEAMMATE = "maya.patel@fernhill.example"  # a reviewer of `make run`'s demo
_ESCAPED = re.compile(r"\\(.)")
_STYLE_TAG = {"header": "h3", "paragraph": "p", "muted": "p", "error": "p"}


class InboxApp:
    """Calls the installed app and keeps the canvas each teammate was last shown, per conversation."""

    def __init__(self, *, client_secret: str, transport: httpx.BaseTransport | None = None, timeout: float = 10.0):
        self.client_secret = client_secret
        self.transport = transport
        self.timeout = timeout
        self._shown: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def request_body(self, conversation: dict, teammate: str) -> dict:
        """What Intercom posts: the workspace, the teammate (`admin`), the conversation, its contact."""
        contacts = conversation.get("contacts", {}).get("contacts", [])
        return {
            "workspace_id": "sandboxapp",
            "workspace_region": "us",
            "admin": {"type": "admin", "id": "991", "name": teammate.split("@")[0], "email": teammate},
            "conversation": {k: v for k, v in conversation.items() if k != "conversation_parts"},
            "contact": contacts[0] if contacts else {},
            "context": {"location": "conversation_details_pane"},
            "card_creation_options": {},
        }

    def initialize(self, base_url: str, conversation: dict, teammate: str) -> tuple[dict | None, str]:
        return self._post(base_url, "initialize", conversation, teammate, self.request_body(conversation, teammate))

    def submit(
        self, base_url: str, conversation: dict, teammate: str, component_id: str, input_values: dict
    ) -> tuple[dict | None, str]:
        with self._lock:
            shown = self._shown.get((conversation["id"], teammate), {})
        body = self.request_body(conversation, teammate)
        body.update(component_id=component_id, input_values=input_values, current_canvas=shown, user=body["contact"])
        return self._post(base_url, "submit", conversation, teammate, body)

    def _post(self, base_url: str, path: str, conversation: dict, teammate: str, body: dict) -> tuple[dict | None, str]:
        """(the canvas, "") or (None, why the app's answer could not be shown)."""
        raw = json.dumps(body).encode()
        signature = hmac.new(self.client_secret.encode(), raw, hashlib.sha256).hexdigest()
        try:
            with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
                answer = client.post(
                    f"{base_url.rstrip('/')}/{path}",
                    content=raw,
                    headers={"Content-Type": "application/json", "X-Body-Signature": signature},
                )
        except httpx.HTTPError as error:
            return None, f"the app did not answer: {error}"
        if answer.status_code != 200:
            return None, f"the app answered HTTP {answer.status_code}: {answer.text[:300]}"
        try:
            canvas = answer.json()["canvas"]
        except (ValueError, KeyError, TypeError):
            return None, "the app's answer is not a canvas"
        with self._lock:
            self._shown[(conversation["id"], teammate)] = canvas
        return canvas, ""


def canvas_html(canvas: dict | None, problem: str, *, action: str, teammate: str) -> str:
    """The panel: the canvas's components in one form posting back to `action`."""
    if canvas is None:
        return f'<aside class="app"><p class="error">Inbox app: {html.escape(problem)}</p></aside>'
    items = [_component_html(component) for component in canvas.get("content", {}).get("components", [])]
    return (
        f'<aside class="app"><form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="as" value="{html.escape(teammate)}">{"".join(items)}</form></aside>'
    )


def teammate_form(teammate: str) -> str:
    return (
        '<form method="get" class="teammate">Viewing as teammate '
        f'<input name="as" type="email" value="{html.escape(teammate)}"> <button>Switch</button></form>'
    )


def _shown_text(markdown: str) -> str:
    return html.escape(_ESCAPED.sub(r"\1", markdown or ""))


def _component_html(component: dict) -> str:
    kind = component.get("type")
    if kind == "text":
        style = component.get("style", "paragraph")
        tag = _STYLE_TAG.get(style, "p")
        return f'<{tag} class="{html.escape(style)}">{_shown_text(component.get("text", ""))}</{tag}>'
    if kind == "button":
        label = html.escape(component.get("label", ""))
        action = component.get("action") or {}
        if action.get("type") == "url":
            return f'<a class="button" href="{html.escape(action.get("url", ""))}" target="_blank">{label}</a> '
        disabled = " disabled" if component.get("disabled") else ""
        return (
            f'<button type="submit" name="component_id" value="{html.escape(component.get("id", ""))}"'
            f"{disabled}>{label}</button> "
        )
    if kind in ("textarea", "input"):
        name = html.escape(f"input:{component.get('id', '')}")
        failed = ' class="failed" aria-invalid="true"' if component.get("error") else ""
        field = (
            f'<textarea name="{name}"{failed} placeholder="{html.escape(component.get("placeholder", ""))}">'
            f"{html.escape(component.get('value', ''))}</textarea>"
            if kind == "textarea"
            else f'<input name="{name}"{failed} value="{html.escape(component.get("value", ""))}">'
        )
        return f"<label>{html.escape(component.get('label', ''))}<br>{field}</label><br>"
    if kind == "divider":
        return "<hr>"
    return ""


def input_values(form) -> dict:
    """The text boxes' values, by component id, from the panel's form."""
    return {key.removeprefix("input:"): value for key, value in form.items() if key.startswith("input:")}
