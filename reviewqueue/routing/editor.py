"""The routing rules editor's state (an unsaved list of rule rows) and the dry run against history."""

from dataclasses import dataclass, replace

from reviewqueue.routing.models import IntakeRecord, RoutingRuleSet
from reviewqueue.routing.rules import RULE_CRITERIA, DraftFacts, Rule, RuleSet, route

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

    def errors(self, known_mailboxes: set[str]) -> dict[str, str]:
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
        return errors

    def ruleset(self) -> RuleSet:
        return RuleSet(tuple(Rule.from_json(row) for row in self.rows), self.default_mailbox_id)


@dataclass(frozen=True)
class DryRunRow:
    record: IntakeRecord
    facts: DraftFacts
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
    """How the last `size` intake drafts route under `proposed` versus the active rules.

    With no active rules yet, "current" is where each draft actually went.
    """
    active = RuleSet.from_model(current) if current is not None else None
    rows = []
    for record in IntakeRecord.objects.order_by("-created_at", "-pk")[:size]:
        facts = DraftFacts.from_json(record.facts)
        current_mailbox = route(facts, active) if active is not None else record.mailbox_id
        rows.append(DryRunRow(record, facts, current_mailbox, route(facts, proposed)))
    return DryRun(rows)
