"""What Slack posts to the interactivity URL: a form field `payload` holding a JSON object
(contracts/slack.md), read here into typed clicks. Anything else is `InteractionInvalid` (a 400).

Our buttons: action_id `approve` / `reject` with the value `<draft id>:<snapshot id or empty>` (the
conversation snapshot the message was posted on), `open` a link. The reject modal: callback_id
`reviewqueue_reject`, the reason in block `reason` / action `reason_text`, and private_metadata
`{"draft_id", "snapshot_id", "response_url"}` (the click's response_url, for telling the reviewer
what became of their submission).
"""

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

REJECT_CALLBACK_ID = "reviewqueue_reject"
REASON_BLOCK, REASON_ACTION = "reason", "reason_text"
BUTTONS = ("approve", "reject", "open")
REASON_MAX_CHARS = 2000  # as the draft page's form, the API and the Inbox app


class InteractionInvalid(ValueError):
    """Not an interaction payload we can read; the message says why."""


@dataclass(frozen=True)
class ButtonClick:
    action: str  # approve | reject | open
    draft_id: int
    snapshot_id: int | None  # the snapshot the message showed
    user_id: str
    trigger_id: str
    response_url: str
    channel_id: str
    message_ts: str


@dataclass(frozen=True)
class RejectSubmission:
    draft_id: int
    snapshot_id: int | None
    response_url: str
    user_id: str
    reason: str


def payload_of(body: bytes) -> dict:
    """The JSON object in the form field `payload`."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise InteractionInvalid("expected a form with one field, payload") from None
    raw = fields.get("payload")
    if not raw or len(raw) != 1:
        raise InteractionInvalid("expected a form with one field, payload")
    try:
        payload = json.loads(raw[0])
    except ValueError:
        raise InteractionInvalid("payload is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise InteractionInvalid("payload must be a JSON object with a type")
    return payload


def button_click(payload: dict) -> ButtonClick | None:
    """A click on one of our buttons, or None for a block action that is not ours."""
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    if action.get("action_id") not in BUTTONS:
        return None
    draft_id, snapshot_id = draft_reference(action.get("value"))
    container = _object(payload, "container")
    return ButtonClick(
        action=action["action_id"],
        draft_id=draft_id,
        snapshot_id=snapshot_id,
        user_id=_user_id(payload),
        trigger_id=_text(payload.get("trigger_id")),
        response_url=_text(payload.get("response_url")),
        channel_id=_text(_object(payload, "channel").get("id") or container.get("channel_id")),
        message_ts=_text(container.get("message_ts") or _object(payload, "message").get("ts")),
    )


def reject_submission(payload: dict) -> RejectSubmission | None:
    """The reject modal's submission, or None for a view that is not ours."""
    view = _object(payload, "view")
    if view.get("callback_id") != REJECT_CALLBACK_ID:
        return None
    try:
        metadata = json.loads(view.get("private_metadata") or "")
    except (TypeError, ValueError):
        raise InteractionInvalid("view.private_metadata is not ours") from None
    if not isinstance(metadata, dict):
        raise InteractionInvalid("view.private_metadata is not ours")
    draft_id, snapshot_id = draft_reference(f"{metadata.get('draft_id', '')}:{metadata.get('snapshot_id') or ''}")
    values = _object(_object(view, "state"), "values")
    reason = _object(_object(values, REASON_BLOCK), REASON_ACTION).get("value")
    if reason is not None and not isinstance(reason, str):
        raise InteractionInvalid("the reason must be text")
    return RejectSubmission(
        draft_id=draft_id,
        snapshot_id=snapshot_id,
        response_url=_text(metadata.get("response_url")),
        user_id=_user_id(payload),
        reason=(reason or "").strip(),
    )


def reason_problem(reason: str) -> str:
    """Why the modal cannot be submitted as it is ("" when it can): answered at once, in the modal."""
    if not reason:
        return "A rejection needs a reason."
    if len(reason) > REASON_MAX_CHARS:
        return f"At most {REASON_MAX_CHARS} characters."
    return ""


def draft_reference(value: object) -> tuple[int, int | None]:
    draft, _, snapshot = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not _number(draft) or (snapshot and not _number(snapshot)):
        raise InteractionInvalid("the button's value is not a draft of ours")
    return int(draft), int(snapshot) if snapshot else None


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


def _user_id(payload: dict) -> str:
    user_id = _object(payload, "user").get("id")
    if not isinstance(user_id, str) or not user_id:
        raise InteractionInvalid("payload.user.id is missing")
    return user_id


def _object(parent: dict, key: str) -> dict:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
