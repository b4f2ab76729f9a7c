"""MultiMail calls of the oversight flows (the signing key, the upgrade codes, the account), kept beside
the main client so its module stays the drafts' and mailboxes' own. Each takes the shared client."""

import httpx

from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.integrations.multimail.errors import MultiMailUnavailable

SIGNING_KEY_PATH = "/.well-known/multimail-signing-key"


def signing_key_text(client: MultiMailClient) -> str:
    """The public key document as MultiMail serves it (JWK JSON or PEM); no key is needed to read it."""
    try:
        response = client._http.get(SIGNING_KEY_PATH, headers={"Accept": "application/json, application/x-pem-file"})
    except httpx.HTTPError as exc:
        raise MultiMailUnavailable(None, f"GET {SIGNING_KEY_PATH} failed ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise MultiMailUnavailable(response.status_code, f"GET {SIGNING_KEY_PATH} answered {response.status_code}")
    return response.text


def request_upgrade(client: MultiMailClient, *, mailbox_id: str, target_mode: str) -> dict:
    """POST /v1/mailboxes/{id}/request-upgrade (send key): MultiMail emails the operator a one-time code."""
    reply = client._call(
        "POST", f"/v1/mailboxes/{mailbox_id}/request-upgrade", scope="send", json={"target_mode": target_mode}
    )
    return reply.body


def redeem_upgrade(client: MultiMailClient, *, mailbox_id: str, code: str) -> dict:
    """POST /v1/mailboxes/{id}/upgrade (send key) with the operator's code; 403 for a bad code."""
    reply = client._call("POST", f"/v1/mailboxes/{mailbox_id}/upgrade", scope="send", json={"code": code})
    return reply.body


def account(client: MultiMailClient) -> dict:
    """GET /v1/account (read scope): the tenant, with its physical_address."""
    return client._call("GET", "/v1/account", scope="read", safe=True).body
