"""`make run`'s demo seeds what it promises: Fernhill's morning queue, flagged as described, and a week of
decided history recorded in time order, through the sandboxes served locally and the real services."""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from reviewqueue.audit.models import AuditEvent, ReconciliationFinding
from reviewqueue.audit.reconcile import reconciliation_run
from reviewqueue.audit.verify import verify_chain
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.review.models import Decision, Draft, OutboxItem
from reviewqueue.routing.models import Mailbox, RoutingRuleSet
from reviewqueue.sandbox import demo_data
from reviewqueue.sandbox.demo import demo_seed
from reviewqueue.sandbox.intercom.state import SandboxState as IntercomState
from reviewqueue.sandbox.multimail.app import make_app
from reviewqueue.sandbox.multimail.state import SandboxState as MultiMailState
from reviewqueue.sandbox.server import serve_in_thread
from tests.livesystem import free_port, sandbox_keys

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Seeded:
    state: dict[str, Path]
    ports: dict[str, int]

    def seed(self) -> bool:
        return demo_seed(
            multimail_state=self.state["multimail"],
            intercom_state=self.state["intercom"],
            multimail_port=self.ports["multimail"],
            intercom_port=self.ports["intercom"],
        )


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seeded once for the module (it takes a while), against sandboxes served on free ports."""
    ports = {"multimail": free_port(), "intercom": free_port()}
    directory = tmp_path_factory.mktemp("demo")
    seeded = Seeded({name: directory / f"{name}.json" for name in ports}, ports)
    vendors = override_settings(
        MULTIMAIL_API_URL=f"http://127.0.0.1:{ports['multimail']}",
        INTERCOM_API_URL=f"http://127.0.0.1:{ports['intercom']}",
        INTERCOM_ADMIN_ID="",
        **sandbox_keys(),
    )
    with vendors, django_db_blocker.unblock():
        try:
            assert seeded.seed() is True
            yield seeded
        finally:
            call_command("flush", "--noinput")


def _pending(key: str) -> Draft:
    held = next(h for h in demo_data.PENDING if h.key == key)
    return Draft.objects.get(status=Draft.Status.PENDING, subject=held.subject)


def test_the_morning_queue_holds_every_draft_in_its_mailbox(seeded):
    mailboxes = dict(Mailbox.objects.values_list("mailbox_id", "address"))
    pending = Draft.objects.filter(status=Draft.Status.PENDING, fetched_at__isnull=False)
    per_mailbox = Counter(mailboxes[draft.mailbox_id].split("@")[0] for draft in pending)
    assert per_mailbox == Counter(held.mailbox for held in demo_data.PENDING)
    assert len(demo_data.PENDING) >= 18 and set(per_mailbox) == {"billing", "orders", "privacy"}
    assert sorted(Mailbox.objects.values_list("display_name", flat=True)) == sorted(
        m.display_name for m in demo_data.MAILBOXES
    )
    assert all(draft.conversation_id.isdigit() for draft in pending)  # Intercom's ids are numeric
    rules = RoutingRuleSet.objects.get()
    desks = {rule["kind"]: mailboxes[rule["mailbox_id"]] for rule in rules.rules}
    assert desks == {"billing": f"billing@{demo_data.DOMAIN}", "privacy": f"privacy@{demo_data.DOMAIN}"}


def test_each_case_is_flagged_as_described_and_the_others_are_not(seeded):
    for held in demo_data.PENDING:
        draft = _pending(held.key)
        assert set(draft.flags) == held.flags, held.key
    assert _pending("lookalike_link").unknown_link_domains == [demo_data.LOOKALIKE_DOMAIN]
    assert _pending("recipient_not_in_conversation").to == ["j.berg@bergcarpentry.example"]
    assert _pending("invoice_with_vat").attachments[0]["name"] == "Fernhill-invoice-FH-20877.pdf"


def test_the_listed_cases_are_present(seeded):
    keys = {held.key for held in demo_data.PENDING}
    assert {
        "refund_follow_up",
        "shipping_delay",
        "gdpr_deletion",
        "lookalike_link",
        "customer_wrote_again",
        "invoice_with_vat",
        "recipient_not_in_conversation",
    } <= keys
    assert "GDPR" in _pending("gdpr_deletion").subject + _pending("gdpr_deletion").markdown
    replied = _pending("customer_wrote_again")
    assert replied.received_at < replied.waiting_since  # the customer wrote after the draft was written


def test_the_queue_puts_the_longest_waiting_customer_first(seeded):
    waits = list(Draft.objects.filter(status=Draft.Status.PENDING).order_by("waiting_since"))
    assert waits[-1].waiting_since - waits[0].waiting_since > timedelta(hours=12)
    assert all(draft.waiting_since < datetime.now(UTC) for draft in waits)


def test_a_week_of_decisions_by_three_reviewers_with_reasons(seeded):
    decisions = list(Decision.objects.select_related("draft"))
    assert len(decisions) == len(demo_data.PAST)
    assert {d.reviewer_username for d in decisions} == {r.username for r in demo_data.REVIEWERS}
    rejected = [d for d in decisions if d.action == "reject"]
    assert len(rejected) == sum(1 for past in demo_data.PAST if past.reason) and all(d.reason for d in rejected)
    now = datetime.now(UTC)
    days = {(now - d.decided_at).days for d in decisions}
    assert min(days) >= 0 and max(days) <= 7 and len(days) >= 6
    assert all(d.ip and d.user_agent for d in decisions)
    waits = [d.decided_at - d.draft.received_at for d in decisions]
    assert len(set(waits)) > len(waits) // 2 and min(waits) > timedelta(0)  # drafts waited for a reviewer a while
    # What the reviewer saw was fetched before they decided, not when the demo was seeded.
    snapshots = dict(ConversationSnapshot.objects.values_list("pk", "fetched_at"))
    assert all(snapshots[d.snapshot_id] < d.decided_at for d in decisions)
    # Carried out then: MultiMail took each decision and the conversation got its note.
    assert {d.draft.email_status for d in decisions} == {"approved_and_sent", "rejected"}
    done = OutboxItem.objects.filter(kind__in=["decide", "intercom_note"], status="done")
    assert done.count() == 2 * len(decisions)


def test_history_is_in_the_audit_log_in_time_order_and_the_chain_verifies(seeded):
    events = list(AuditEvent.objects.order_by("seq"))
    times = [event.created_at for event in events]
    assert times == sorted(times)
    decided = [e for e in events if e.action == "draft.decided"]
    assert len(decided) == len(demo_data.PAST)
    assert {e.created_at for e in decided} == set(Decision.objects.values_list("decided_at", flat=True))
    assert datetime.now(UTC) - events[0].created_at > timedelta(days=6)
    assert verify_chain().intact


def test_multimail_recorded_the_same_decisions(seeded):
    with serve_in_thread(make_app(seeded.state["multimail"]), port=seeded.ports["multimail"]):
        report = reconciliation_run(now=datetime.now(UTC) + timedelta(hours=1))
    assert report.decisions_stored == len(demo_data.PAST)
    assert ReconciliationFinding.objects.count() == 0


def test_a_second_run_seeds_nothing(seeded):
    state = seeded.state
    counts = (AuditEvent.objects.count(), Draft.objects.count())
    multimail_emails = len(MultiMailState(state["multimail"]).data["emails"])
    conversations = len(IntercomState(state["intercom"]).conversations())
    assert seeded.seed() is False
    assert (AuditEvent.objects.count(), Draft.objects.count()) == counts
    assert len(MultiMailState(state["multimail"]).data["emails"]) == multimail_emails
    assert len(IntercomState(state["intercom"]).conversations()) == conversations
