"""Intercom's Canvas Kit, as far as an Inbox app uses it: the request signature and the panel's JSON.

Vendor facts only (contracts/intercom.md, "Inbox apps"): what reviewqueue draws in the panel is
reviewqueue/inbox/. Every request Intercom makes to an app carries `X-Body-Signature`, the lowercase
hex HMAC-SHA256 of the raw body keyed by the app's client secret (INTERCOM_CLIENT_SECRET, the one
that keys its webhooks' `X-Hub-Signature`). Kept in one module so the tests sign exactly what the
views verify.
"""

import hashlib
import hmac
import re

HEADER = "X-Body-Signature"

# Canvas text is markdown (links and bold): anything a draft or a customer wrote is escaped, so a
# `[trusted.example](https://look-alike.example)` in a draft shows as typed, never as a link.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def sign(raw_body: bytes, secret: str) -> str:
    """The header value Intercom sends for `raw_body`."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    """True only when the header is the body's HMAC-SHA256 under `secret`; compared in constant time."""
    if not secret or not header:
        return False
    return hmac.compare_digest(header.strip().lower().encode(), sign(raw_body, secret).encode())


def plain(text: str) -> str:
    """`text` as literal characters in a canvas text component (markdown escaped, one line)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def text(value: str, style: str = "paragraph") -> dict:
    """A text component; `value` is markdown (escape what others wrote with `plain`). Styles: header,
    paragraph, muted, error."""
    return {"type": "text", "text": value, "style": style}


def submit_button(component_id: str, label: str, style: str = "secondary") -> dict:
    return {"type": "button", "id": component_id, "label": label, "style": style, "action": {"type": "submit"}}


def url_button(component_id: str, label: str, url: str) -> dict:
    action = {"type": "url", "url": url}
    return {"type": "button", "id": component_id, "label": label, "style": "link", "action": action}


def textarea(component_id: str, label: str, *, placeholder: str = "", value: str = "", error: bool = False) -> dict:
    component = {"type": "textarea", "id": component_id, "label": label, "placeholder": placeholder, "value": value}
    if error:
        component["error"] = True
    return component


def divider() -> dict:
    return {"type": "divider"}


def canvas(components: list[dict], stored_data: dict | None = None) -> dict:
    """The answer to initialize and submit: the panel, and what Intercom hands back with the next submit."""
    return {"canvas": {"content": {"components": components}, "stored_data": stored_data or {}}}
