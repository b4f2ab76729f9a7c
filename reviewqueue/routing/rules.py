"""Routing: which mailbox a draft goes to. `route` is pure and is shared by intake and the dry run."""

import re
from dataclasses import dataclass, field

RULE_CRITERIA = ("kind", "intercom_team", "conversation_tag", "recipient_domain")
KIND_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
KIND_RULE = "up to 64 letters, digits, '.', '_', ':' or '-'"


@dataclass(frozen=True)
class DraftFacts:
    """What routing may look at. Tags and domains are compared case-insensitively."""

    kind: str = ""
    intercom_team: str = ""
    conversation_tags: frozenset[str] = field(default_factory=frozenset)
    recipient_domains: frozenset[str] = field(default_factory=frozenset)

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "intercom_team": self.intercom_team,
            "conversation_tags": sorted(self.conversation_tags),
            "recipient_domains": sorted(self.recipient_domains),
        }

    @classmethod
    def from_json(cls, data: dict) -> "DraftFacts":
        return cls(
            kind=str(data.get("kind") or ""),
            intercom_team=str(data.get("intercom_team") or ""),
            conversation_tags=frozenset(t.lower() for t in data.get("conversation_tags") or ()),
            recipient_domains=frozenset(d.lower() for d in data.get("recipient_domains") or ()),
        )


@dataclass(frozen=True)
class Rule:
    mailbox_id: str
    kind: str = ""
    intercom_team: str = ""
    conversation_tag: str = ""
    recipient_domain: str = ""

    def matches(self, facts: DraftFacts) -> bool:
        # Every criterion that is set must hold; an empty one matches anything.
        if self.kind and self.kind != facts.kind:
            return False
        if self.intercom_team and self.intercom_team != facts.intercom_team:
            return False
        if self.conversation_tag and self.conversation_tag.lower() not in facts.conversation_tags:
            return False
        return not (self.recipient_domain and self.recipient_domain.lower() not in facts.recipient_domains)

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "intercom_team": self.intercom_team,
            "conversation_tag": self.conversation_tag,
            "recipient_domain": self.recipient_domain,
            "mailbox_id": self.mailbox_id,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Rule":
        return cls(mailbox_id=str(data["mailbox_id"]), **{c: str(data.get(c) or "") for c in RULE_CRITERIA})


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    default_mailbox_id: str

    @classmethod
    def from_model(cls, ruleset) -> "RuleSet":
        return cls(tuple(Rule.from_json(r) for r in ruleset.rules), ruleset.default_mailbox_id)


def route(facts: DraftFacts, ruleset: RuleSet) -> str:
    """The mailbox id for a draft: the first rule that matches, else the default mailbox."""
    for rule in ruleset.rules:
        if rule.matches(facts):
            return rule.mailbox_id
    return ruleset.default_mailbox_id


def recipient_domains(addresses) -> frozenset[str]:
    return frozenset(a.rpartition("@")[2].strip().lower() for a in addresses if "@" in a)


def kinds_clean(kinds) -> list[str]:
    """`kinds` sorted, once each, blanks dropped (so "refund, shipping".split(",") will do); ValueError
    names one that is not a kind."""
    cleaned = sorted({kind.strip() for kind in kinds if kind.strip()})
    for kind in cleaned:
        if not KIND_PATTERN.match(kind):
            raise ValueError(f"kind {kind!r}: {KIND_RULE}")
    return cleaned
