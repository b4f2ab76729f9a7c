"""The routing rules editor's state (an unsaved list of rule rows) and the dry run against history."""

from dataclasses import dataclass, replace
from datetime import datetime

from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import IntakeRecord, RoutingRuleSet, sent_without_review
from reviewqueue.routing.rules import RULE_CRITERIA, DraftFacts, Rule, RuleSet, recipient_domains, route

CRITERIA_LABELS = {
    "kind": "Draft kind",
    "intercom_team": "Intercom team id",
    "conversation_tag": "Conversation tag",
    "recipient_domain": "Recipient domain",
}
DRY_RUN_SIZE = 200
_FIELD_MAX = 200


@dataclass(frozen=True)
class EditorState:
    rows: tuple[dict, ...]
    default_mailbox_id: str = ""
    note: str = ""
    # The admin ticked "sent without review" for the rules' mailboxes that send without a person's yes.
    confirm_unreviewed: bool = False

    @classmethod
    def from_ruleset(cls, ruleset: RoutingRuleSet | None) -> "EditorState":
        if ruleset is None:
            return cls(rows=())
        rows = tuple(Rule.from_json(r).as_json() for r in ruleset.rules)
        return cls(rows=rows, default_mailbox_id=ruleset.default_mailbox_id)

    @classmethod
    def from_post(cls, post) -> "EditorState":
        columns = {name: post.getlist(name) for name in (*RULE_CRITERIA, "mailbox_id")}
        count = max((len(values) for values in columns.values()), default=0)
        rows = tuple(
            {name: (values[i] if i < len(values) else "").strip()[:_FIELD_MAX] for name, values in columns.items()}
            for i in range(count)
        )
        return cls(
            rows=rows,
            default_mailbox_id=post.get("default_mailbox_id", "").strip(),
            note=post.get("note", "").strip()[:200],
            confirm_unreviewed=post.get("confirm_unreviewed") == "1",
        )

    def apply(self, operation: str) -> "EditorState":
        """add | remove:N | up:N | down:N; anything else leaves the rows as they are."""
        rows = list(self.rows)
        verb, _, index_text = operation.partition(":")
        if verb == "add":
            rows.append({name: "" for name in (*RULE_CRITERIA, "mailbox_id")})
            return replace(self, rows=tuple(rows))
        if not index_text.isdigit() or int(index_text) >= len(rows):
            return self
        index = int(index_text)
        if verb == "remove":
            del rows[index]
        elif verb == "up" and index > 0:
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        elif verb == "down" and index < len(rows) - 1:
            rows[index + 1], rows[index] = rows[index], rows[index + 1]
        return replace(self, rows=tuple(rows))

    def unreviewed_mailboxes(self, modes: dict[str, str]) -> list[str]:
        """The chosen mailboxes (among `modes`, the active ones) whose email leaves without review."""
        routed = {row["mailbox_id"] for row in self.rows} | {self.default_mailbox_id}
        return sorted(m for m in routed if m in modes and sent_without_review(modes[m]))

    def errors(self, modes: dict[str, str]) -> dict[str, str]:
        """What stops these rules being saved, given the active mailboxes' oversight modes."""
        known_mailboxes = set(modes)
        errors = {}
        if self.default_mailbox_id not in known_mailboxes:
            errors["default_mailbox_id"] = "choose the default mailbox: it catches every draft no rule matches"
        for position, row in enumerate(self.rows):
            if row["mailbox_id"] not in known_mailboxes:
                errors[f"row-{position}"] = f"rule {position + 1}: choose a mailbox"
            elif not any(row[c] for c in RULE_CRITERIA):
                errors[f"row-{position}"] = (
                    f"rule {position + 1}: set at least one condition (the default mailbox catches everything else)"
                )
        unreviewed = self.unreviewed_mailboxes(modes)
        if unreviewed and not self.confirm_unreviewed:
            errors["confirm_unreviewed"] = (
                f"{', '.join(unreviewed)} send without review: confirm that drafts routed there are sent without review"
            )
        return errors

    def ruleset(self) -> RuleSet:
        return RuleSet(tuple(Rule.from_json(row) for row in self.rows), self.default_mailbox_id)


@dataclass(frozen=True)
class HistoryItem:
    """One past draft as routing sees it."""

    when: datetime
    conversation_id: str
    source: str  # intake, or how a draft sent straight to MultiMail arrived (webhook, poll)
    facts: DraftFacts
    mailbox_id: str  # where it actually went


@dataclass(frozen=True)
class DryRunRow:
    item: HistoryItem
    current_mailbox_id: str
    new_mailbox_id: str

    @property
    def changed(self) -> bool:
        return self.current_mailbox_id != self.new_mailbox_id


@dataclass(frozen=True)
class DryRun:
    rows: list[DryRunRow]

    @property
    def changed_count(self) -> int:
        return sum(row.changed for row in self.rows)


def dry_run(proposed: RuleSet, current: RoutingRuleSet | None, *, size: int = DRY_RUN_SIZE) -> DryRun:
    """How the last `size` drafts route under `proposed` versus the active rules.

    With no active rules yet, "current" is where each draft actually went.
    """
    active = RuleSet.from_model(current) if current is not None else None
    rows = []
    for item in recent_drafts(size):
        current_mailbox = route(item.facts, active) if active is not None else item.mailbox_id
        rows.append(DryRunRow(item, current_mailbox, route(item.facts, proposed)))
    return DryRun(rows)


def recent_drafts(size: int) -> list[HistoryItem]:
    """The newest `size` drafts: intake ones with the facts recorded when they were routed, and drafts
    agents sent straight to MultiMail with facts read from the draft and its conversation snapshot."""
    items = [
        HistoryItem(r.created_at, r.conversation_id, "intake", DraftFacts.from_json(r.facts), r.mailbox_id)
        for r in IntakeRecord.objects.order_by("-created_at", "-pk")[:size]
    ]
    return sorted(items + _direct_drafts(size), key=lambda item: item.when, reverse=True)[:size]


def _direct_drafts(size: int) -> list[HistoryItem]:
    drafts = list(Draft.objects.exclude(source="intake").order_by("-created_at", "-pk")[:size])
    snapshot_ids = {d.snapshot_id for d in drafts if d.snapshot_id}
    snapshots = {s.pk: s for s in ConversationSnapshot.objects.filter(pk__in=snapshot_ids)}
    items = []
    for draft in drafts:
        team, tags = _team_and_tags(snapshots.get(draft.snapshot_id))
        facts = DraftFacts(
            intercom_team=team, conversation_tags=tags, recipient_domains=recipient_domains(draft.to or [])
        )
        items.append(HistoryItem(draft.created_at, draft.conversation_id, draft.source, facts, draft.mailbox_id))
    return items


def _team_and_tags(snapshot) -> tuple[str, frozenset[str]]:
    if snapshot is None:
        return "", frozenset()
    try:
        conversation = snapshot.conversation
    except Exception:  # a snapshot we cannot read routes like one we do not have
        return "", frozenset()
    return str(conversation.team_assignee_id or ""), frozenset((t.name or "").lower() for t in conversation.tags)
