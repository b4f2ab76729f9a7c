"""The Block Kit we post: the review request, the same message once decided, the reject modal.

Plain data in, JSON-ready lists out; what goes in each is reviewqueue/slack/messages.py's business.
Text from drafts is escaped as Slack's mrkdwn asks (&, <, >), so a subject cannot ping or link.
"""

import json
from dataclasses import dataclass

from reviewqueue.integrations.slack.interactions import (
    REASON_ACTION,
    REASON_BLOCK,
    REASON_MAX_CHARS,
    REJECT_CALLBACK_ID,
)


@dataclass(frozen=True)
class ReviewRequest:
    draft_id: int
    snapshot_id: int | None
    customer: str
    subject: str
    excerpt: str
    flags: list[str]
    waiting: str
    mailbox: str
    url: str


@dataclass(frozen=True)
class Outcome:
    verb: str  # "Approved", "Rejected", "Changes requested", "Decided in MultiMail"
    who: str
    how: str  # "in Slack", "on the draft page", …
    when: str  # "2026-12-07 10:41 UTC"
    reason: str = ""


def escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def request_text(request: ReviewRequest) -> str:
    """The notification's plain text (Slack shows it where blocks cannot be)."""
    return f"Draft to review: {request.subject} (to {request.customer})"


def request_blocks(request: ReviewRequest) -> list:
    value = f"{request.draft_id}:{request.snapshot_id or ''}"
    return [
        *_facts(request),
        {
            "type": "actions",
            "block_id": f"review:{request.draft_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "value": value,
                    "text": _plain("Approve"),
                },
                {"type": "button", "action_id": "reject", "style": "danger", "value": value, "text": _plain("Reject")},
                {"type": "button", "action_id": "open", "url": request.url, "value": value, "text": _plain("Open")},
            ],
        },
    ]


def decided_blocks(request: ReviewRequest, outcome: Outcome) -> list:
    line = f"*{outcome.verb}* by {escape(outcome.who)} {outcome.how}, {outcome.when}"
    if outcome.reason:
        line += f"\n>{escape(outcome.reason)[:500]}"
    return [
        *_facts(request),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]},
        {
            "type": "actions",
            "block_id": f"decided:{request.draft_id}",
            "elements": [{"type": "button", "action_id": "open", "url": request.url, "text": _plain("Open")}],
        },
    ]


def decided_text(request: ReviewRequest, outcome: Outcome) -> str:
    return f"{outcome.verb} by {outcome.who} {outcome.how}, {outcome.when}: {request.subject}"


def reject_modal(*, draft_id: int, snapshot_id: int | None, subject: str, response_url: str) -> dict:
    metadata = {"draft_id": draft_id, "snapshot_id": snapshot_id, "response_url": response_url}
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK_ID,
        "private_metadata": json.dumps(metadata),
        "title": _plain("Reject draft"),
        "submit": _plain("Reject"),
        "close": _plain("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(subject)[:200]}*"}},
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": _plain("Reason"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": REASON_MAX_CHARS,
                },
            },
        ],
    }


def _facts(request: ReviewRequest) -> list:
    flags = ", ".join(request.flags) if request.flags else "none"
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{escape(request.subject)}*\nto {escape(request.customer)}"},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(request.excerpt) or "_(empty)_"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Flags: {escape(flags)} · waiting {escape(request.waiting)} · {escape(request.mailbox)}",
                }
            ],
        },
    ]


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}
