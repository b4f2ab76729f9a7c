"""Typed Intercom results. Raw JSON is parsed here, at the boundary, and nowhere else.

Each type reads the REST shape (`from_api`) and, for conversations, round-trips through the
plain JSON kept in a snapshot (`to_data` / `from_data`), so a stored snapshot reads back as the
same typed object the client returned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime


class MalformedResponse(ValueError):
    """The response did not have the shape the Intercom documentation gives."""


def _epoch(value) -> datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise MalformedResponse(f"expected Unix seconds, got {value!r}") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _str(value) -> str:
    return "" if value is None else str(value)


def _object(raw, what: str) -> dict:
    if not isinstance(raw, dict):
        raise MalformedResponse(f"{what}: expected an object, got {type(raw).__name__}")
    return raw


@dataclass(frozen=True)
class Admin:
    id: str
    email: str
    name: str
    app_id: str = ""  # the workspace's id_code; it is part of inbox links

    @classmethod
    def from_api(cls, raw) -> Admin:
        raw = _object(raw, "admin")
        if not raw.get("id"):
            raise MalformedResponse("admin without an id")
        app = raw.get("app") if isinstance(raw.get("app"), dict) else {}
        return cls(
            id=_str(raw["id"]),
            email=_str(raw.get("email")),
            name=_str(raw.get("name")),
            app_id=_str(app.get("id_code")),
        )


@dataclass(frozen=True)
class Author:
    type: str  # admin | user | lead | bot | team
    id: str
    name: str
    email: str

    @classmethod
    def from_api(cls, raw) -> Author:
        raw = raw if isinstance(raw, dict) else {}
        return cls(
            type=_str(raw.get("type")), id=_str(raw.get("id")), name=_str(raw.get("name")), email=_str(raw.get("email"))
        )


@dataclass(frozen=True)
class Tag:
    id: str
    name: str

    @classmethod
    def from_api(cls, raw) -> Tag:
        raw = _object(raw, "tag")
        if not raw.get("id"):
            raise MalformedResponse("tag without an id")
        return cls(id=_str(raw["id"]), name=_str(raw.get("name")))


@dataclass(frozen=True)
class ContactRef:
    id: str
    external_id: str
    email: str

    @classmethod
    def from_api(cls, raw) -> ContactRef:
        raw = _object(raw, "contact")
        return cls(id=_str(raw.get("id")), external_id=_str(raw.get("external_id")), email=_str(raw.get("email")))


@dataclass(frozen=True)
class Contact:
    id: str
    external_id: str
    email: str
    name: str
    role: str  # user | lead

    @classmethod
    def from_api(cls, raw) -> Contact:
        raw = _object(raw, "contact")
        if not raw.get("id"):
            raise MalformedResponse("contact without an id")
        return cls(
            id=_str(raw["id"]),
            external_id=_str(raw.get("external_id")),
            email=_str(raw.get("email")),
            name=_str(raw.get("name")),
            role=_str(raw.get("role")),
        )


@dataclass(frozen=True)
class ConversationSource:
    type: str
    subject: str
    body: str
    author: Author

    @classmethod
    def from_api(cls, raw) -> ConversationSource:
        raw = raw if isinstance(raw, dict) else {}
        return cls(
            type=_str(raw.get("type")),
            subject=_str(raw.get("subject")),
            body=_str(raw.get("body")),
            author=Author.from_api(raw.get("author")),
        )


@dataclass(frozen=True)
class ConversationPart:
    id: str
    part_type: str  # comment | note | assignment | close | open | …
    body: str
    created_at: datetime | None
    author: Author

    @classmethod
    def from_api(cls, raw) -> ConversationPart:
        raw = _object(raw, "conversation part")
        return cls(
            id=_str(raw.get("id")),
            part_type=_str(raw.get("part_type")),
            body=_str(raw.get("body")),
            created_at=_epoch(raw.get("created_at")),
            author=Author.from_api(raw.get("author")),
        )


def _listed(raw: dict, key: str, inner: str) -> list:
    """Intercom wraps lists: {"contacts": {"type": "contact.list", "contacts": [...]}}."""
    wrapper = raw.get(key)
    if wrapper is None:
        return []
    items = wrapper.get(inner) if isinstance(wrapper, dict) else wrapper
    if not isinstance(items, list):
        raise MalformedResponse(f"{key}: expected a list")
    return items


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created_at: datetime | None
    updated_at: datetime | None
    waiting_since: datetime | None
    open: bool
    state: str  # open | closed | snoozed
    priority: str
    admin_assignee_id: str
    team_assignee_id: str
    source: ConversationSource
    contacts: list[ContactRef] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    parts: list[ConversationPart] = field(default_factory=list)
    url: str = ""  # where a teammate opens it in Intercom's inbox

    @classmethod
    def from_api(cls, raw, *, url: str = "") -> Conversation:
        raw = _object(raw, "conversation")
        if raw.get("type", "conversation") != "conversation" or not raw.get("id"):
            raise MalformedResponse("not a conversation")
        return cls(
            id=_str(raw["id"]),
            title=_str(raw.get("title")),
            created_at=_epoch(raw.get("created_at")),
            updated_at=_epoch(raw.get("updated_at")),
            waiting_since=_epoch(raw.get("waiting_since")),
            open=bool(raw.get("open")),
            state=_str(raw.get("state")),
            priority=_str(raw.get("priority")),
            admin_assignee_id=_str(raw.get("admin_assignee_id")),
            team_assignee_id=_str(raw.get("team_assignee_id")),
            source=ConversationSource.from_api(raw.get("source")),
            contacts=[ContactRef.from_api(c) for c in _listed(raw, "contacts", "contacts")],
            tags=[Tag.from_api(t) for t in _listed(raw, "tags", "tags")],
            parts=[ConversationPart.from_api(p) for p in _listed(raw, "conversation_parts", "conversation_parts")],
            url=url,
        )

    def to_data(self) -> dict:
        """Plain JSON for a snapshot: datetimes as ISO 8601 strings."""
        data = asdict(self)
        for key in ("created_at", "updated_at", "waiting_since"):
            data[key] = _iso(getattr(self, key))
        data["parts"] = [
            {**part, "created_at": _iso(p.created_at)} for part, p in zip(data["parts"], self.parts, strict=True)
        ]
        return data

    @classmethod
    def from_data(cls, data: dict) -> Conversation:
        source = data["source"]
        return cls(
            **{
                **data,
                "created_at": _from_iso(data["created_at"]),
                "updated_at": _from_iso(data["updated_at"]),
                "waiting_since": _from_iso(data["waiting_since"]),
                "source": ConversationSource(**{**source, "author": Author(**source["author"])}),
                "contacts": [ContactRef(**c) for c in data["contacts"]],
                "tags": [Tag(**t) for t in data["tags"]],
                "parts": [
                    ConversationPart(**{**p, "created_at": _from_iso(p["created_at"]), "author": Author(**p["author"])})
                    for p in data["parts"]
                ],
            }
        )


@dataclass(frozen=True)
class ConversationSummary:
    """One hit of POST /conversations/search (no parts)."""

    id: str
    title: str
    state: str
    open: bool
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_api(cls, raw) -> ConversationSummary:
        raw = _object(raw, "conversation")
        if not raw.get("id"):
            raise MalformedResponse("conversation without an id")
        return cls(
            id=_str(raw["id"]),
            title=_str(raw.get("title")),
            state=_str(raw.get("state")),
            open=bool(raw.get("open")),
            created_at=_epoch(raw.get("created_at")),
            updated_at=_epoch(raw.get("updated_at")),
        )
