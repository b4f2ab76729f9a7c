"""The Slack sandbox's state: channels and their messages, users, open modals, ephemeral answers.

Kept in memory, and in a JSON file when given one (so `make run` keeps it across a restart).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path

from reviewqueue.sandbox.slack import defaults

TRIGGER_SECONDS = 3  # Slack's trigger_id expires after 3 s
RESPONSE_URLS_KEPT = 500
DEFAULT_USERS = {
    "U0MAYA": {"name": "Maya Patel", "email": "maya.patel@fernhill.example"},
    "U0TOM": {"name": "Tom Becker", "email": "tom.becker@fernhill.example"},
    "U0INES": {"name": "Ines Moreau", "email": "ines.moreau@fernhill.example"},
    "U0GUEST": {"name": "Sam (contractor)", "email": "sam.contractor@example.net"},
}


class SlackState:
    def __init__(self, path: str | None = None):
        self._path = Path(path) if path else None
        self.lock = threading.RLock()
        self.data = {
            "channels": {defaults.CHANNEL: {"name": defaults.CHANNEL_NAME, "messages": []}},
            "users": {uid: {**user, "is_email_confirmed": True} for uid, user in DEFAULT_USERS.items()},
            "modals": {},  # user id → the open view
            "ephemeral": {},  # user id → [texts], newest last
            "response_urls": {},  # token → {"user", "channel"}
        }
        self.triggers: dict[str, tuple[str, float]] = {}  # trigger id → (user id, expires at); never stored
        self._seq = 0
        if self._path and self._path.exists():
            self.data.update(json.loads(self._path.read_text()))

    def save(self) -> None:
        if self._path:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            tmp.replace(self._path)

    def channel(self, channel: str) -> dict | None:
        channels = self.data["channels"]
        if channel in channels:
            return channels[channel]
        name = channel.lstrip("#")
        return next((c for c in channels.values() if c["name"] == name), None)

    def channel_id(self, channel: str) -> str:
        name = channel.lstrip("#")
        return next((cid for cid, c in self.data["channels"].items() if cid == channel or c["name"] == name), "")

    def post(self, channel: str, text: str, blocks: list, *, metadata: dict | None = None) -> dict:
        with self.lock:
            self._seq += 1
            ts = f"{time.time():.6f}"[:-3] + f"{self._seq % 1000:03d}"
            message = {"ts": ts, "text": text, "blocks": blocks, "edited": False}
            if metadata:
                message["metadata"] = metadata
            self.channel(channel)["messages"].append(message)
            self.save()
            return message

    def update(self, channel: str, ts: str, text: str, blocks: list) -> dict | None:
        with self.lock:
            found = next((m for m in self.channel(channel)["messages"] if m["ts"] == ts), None)
            if found is not None:
                found.update(text=text, blocks=blocks, edited=True)
                self.save()
            return found

    def trigger_for(self, user: str) -> str:
        trigger = f"{int(time.time())}.{secrets.token_hex(6)}"
        with self.lock:
            self.triggers[trigger] = (user, time.time() + TRIGGER_SECONDS)
        return trigger

    def trigger_user(self, trigger: str) -> str | None:
        """The user a live trigger belongs to; None when unknown or expired (Slack: expired_trigger_id)."""
        with self.lock:
            user, expires = self.triggers.pop(trigger, ("", 0.0))
        return user if user and time.time() <= expires else None

    def response_url_token(self, user: str, channel: str) -> str:
        token = secrets.token_urlsafe(12)
        with self.lock:
            urls = self.data["response_urls"]
            urls[token] = {"user": user, "channel": channel}
            for stale in list(urls)[:-RESPONSE_URLS_KEPT]:  # Slack's live 30 minutes; keep the last few hundred
                del urls[stale]
            self.save()
        return token

    def tell(self, user: str, text: str) -> None:
        with self.lock:
            told = self.data["ephemeral"].setdefault(user, [])
            told.append(text)
            del told[:-10]
            self.save()

    def open_modal(self, user: str, view: dict) -> dict:
        with self.lock:
            view = {**view, "id": f"V{secrets.token_hex(5).upper()}"}
            self.data["modals"][user] = view
            self.save()
            return view

    def close_modal(self, user: str) -> None:
        with self.lock:
            self.data["modals"].pop(user, None)
            self.save()
