"""The rules editor: ordered rows, a dry run against recent intake drafts, and versions on save."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.routing.models import IntakeRecord, RoutingRuleSet
from reviewqueue.routing.rules import DraftFacts, Rule, RuleSet, route
from tests.routing.conftest import intake_token, mailbox, rules_saved


@pytest.fixture
def boxes(db):
    return [
        mailbox("mb_support", "support@acme.test"),
        mailbox("mb_vip", "vip@acme.test"),
        mailbox("mb_refunds", "refunds@acme.test"),
    ]


def seed_history(count, facts_of):
    token = intake_token()[0]
    now = timezone.now()
    for i in range(count):
        IntakeRecord.objects.create(
            idempotency_key=f"k{i}",
            request_hash="h",
            token=token,
            conversation_id=str(1000 + i),
            facts=facts_of(i),
            mailbox_id="mb_support",
            created_at=now - timedelta(minutes=count - i),
        )


def editor_post(client, rows, default="mb_support", op="dry_run", **extra):
    data = {
        name: [row.get(name, "") for row in rows]
        for name in ("kind", "intercom_team", "conversation_tag", "recipient_domain", "mailbox_id")
    }
    return client.post(reverse("routing:rules"), {**data, "default_mailbox_id": default, "op": op, **extra})


def test_route_takes_the_first_matching_rule_else_the_default():
    rules = RuleSet((Rule("mb_vip", conversation_tag="VIP"), Rule("mb_refunds", kind="refund")), "mb_support")
    assert route(DraftFacts(kind="refund", conversation_tags=frozenset({"vip"})), rules) == "mb_vip"
    assert route(DraftFacts(kind="refund"), rules) == "mb_refunds"
    assert route(DraftFacts(kind="question"), rules) == "mb_support"


def test_every_condition_of_a_rule_must_hold():
    rule = Rule("mb_vip", kind="refund", recipient_domain="BigCorp.com", intercom_team="7")
    rules = RuleSet((rule,), "mb_support")
    facts = DraftFacts(kind="refund", intercom_team="7", recipient_domains=frozenset({"bigcorp.com"}))
    assert route(facts, rules) == "mb_vip"
    assert (
        route(DraftFacts(kind="refund", intercom_team="8", recipient_domains=facts.recipient_domains), rules)
        == "mb_support"
    )


def test_the_dry_run_shows_which_of_the_last_200_drafts_would_move(admin_client_, boxes):
    rules_saved(default="mb_support", rules=[Rule("mb_refunds", kind="refund")])
    # 250 drafts; only the newest 200 count. Every 5th is for bigcorp.com, every 2nd a refund.
    seed_history(
        250,
        lambda i: {
            "kind": "refund" if i % 2 == 0 else "question",
            "recipient_domains": ["bigcorp.com" if i % 5 == 0 else "example.com"],
        },
    )
    proposed = [
        {"recipient_domain": "bigcorp.com", "mailbox_id": "mb_vip"},
        {"kind": "refund", "mailbox_id": "mb_refunds"},
    ]
    response = editor_post(admin_client_, proposed)
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert len(comparison.rows) == 200
    assert {row.item.conversation_id for row in comparison.rows} == {str(1000 + i) for i in range(50, 250)}
    # Moved: bigcorp.com drafts (i % 5 == 0) — 40 of the newest 200 — all now go to mb_vip.
    moved = [row for row in comparison.rows if row.changed]
    assert comparison.changed_count == len(moved) == 40
    for row in moved:
        i = int(row.item.conversation_id) - 1000
        assert i % 5 == 0 and row.new_mailbox_id == "mb_vip"
        assert row.current_mailbox_id == ("mb_refunds" if i % 2 == 0 else "mb_support")
    body = response.content.decode()
    assert body.count('class="changed"') == 40
    assert "40 of the last 200" in body
    assert RoutingRuleSet.objects.count() == 1  # a dry run saves nothing


def test_saving_creates_a_new_version_and_keeps_the_old_one(admin_client_, admin_user, boxes):
    first = rules_saved(default="mb_support")
    response = editor_post(admin_client_, [{"kind": "refund", "mailbox_id": "mb_refunds"}], op="save", note="refunds")
    assert response.status_code == 302
    second = RoutingRuleSet.objects.get(version=2)
    assert second.rules == [Rule("mb_refunds", kind="refund").as_json()]
    assert second.created_by == admin_user and second.note == "refunds"
    first.refresh_from_db()
    assert first.rules == [] and first.version == 1
    event = AuditEvent.objects.get(action="routing.saved", target_id=str(second.pk))
    assert event.payload["old"]["version"] == 1 and event.payload["new"]["rules"] == second.rules
    assert admin_client_.get(reverse("routing:version", args=[1])).status_code == 200


def test_rows_can_be_added_moved_and_removed_before_saving(admin_client_, boxes):
    rows = [{"kind": "a", "mailbox_id": "mb_vip"}, {"kind": "b", "mailbox_id": "mb_refunds"}]
    state = editor_post(admin_client_, rows, op="down:0").context["state"]
    assert [row["kind"] for row in state.rows] == ["b", "a"]
    state = editor_post(admin_client_, rows, op="remove:0").context["state"]
    assert [row["kind"] for row in state.rows] == ["b"]
    state = editor_post(admin_client_, rows, op="add").context["state"]
    assert len(state.rows) == 3
    assert RoutingRuleSet.objects.count() == 0


def test_the_editor_answers_htmx_with_just_the_editor(admin_client_, boxes):
    response = admin_client_.post(
        reverse("routing:rules"), {"op": "add", "default_mailbox_id": ""}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="editor">')
    assert "<html" not in body


def test_a_rule_without_a_mailbox_or_conditions_is_refused(admin_client_, boxes):
    response = editor_post(admin_client_, [{"kind": "a"}, {"mailbox_id": "mb_vip"}], op="save")
    assert response.status_code == 400
    assert b"rule 1: choose a mailbox" in response.content
    assert b"rule 2: set at least one condition" in response.content
    assert not RoutingRuleSet.objects.exists()


def test_a_default_mailbox_is_required(admin_client_, boxes):
    response = editor_post(admin_client_, [], default="", op="save")
    assert response.status_code == 400
    assert b"default mailbox" in response.content


def test_the_dry_run_includes_drafts_sent_straight_to_multimail(admin_client_, boxes):
    from reviewqueue.integrations.intercom.services import snapshot_store
    from reviewqueue.review.models import Draft
    from tests.review.page_helpers import make_conversation

    rules_saved(default="mb_support")
    vip = snapshot_store(conversation=make_conversation("c_vip", tags=("VIP",)))
    Draft.objects.create(email_id="em_a", mailbox_id="mb_support", source="poll", to=["x@bigcorp.com"])
    Draft.objects.create(
        email_id="em_b", mailbox_id="mb_support", source="webhook", conversation_id="c_vip", snapshot_id=vip.pk
    )
    Draft.objects.create(email_id="em_c", mailbox_id="mb_support", source="poll", to=["y@example.com"])
    proposed = [
        {"conversation_tag": "vip", "mailbox_id": "mb_vip"},
        {"recipient_domain": "bigcorp.com", "mailbox_id": "mb_refunds"},
    ]
    comparison = editor_post(admin_client_, proposed).context["comparison"]
    moved = {row.item.source + ":" + row.new_mailbox_id for row in comparison.rows if row.changed}
    assert len(comparison.rows) == 3
    assert moved == {"poll:mb_refunds", "webhook:mb_vip"}


def test_pressing_enter_in_the_editor_runs_a_dry_run_not_a_row_move(admin_client_, boxes):
    rules_saved(default="mb_support", rules=[Rule("mb_vip", kind="a")])
    body = admin_client_.get(reverse("routing:rules")).content.decode()
    form = body[body.index('<section id="editor">') :]
    first_button = form[form.index("<button") : form.index("</button>")]
    assert 'value="dry_run"' in first_button


def test_htmx_gets_the_editor_with_its_errors_as_a_swappable_200(admin_client_, boxes):
    response = admin_client_.post(
        reverse("routing:rules"), {"op": "save", "default_mailbox_id": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"default mailbox" in response.content and b"Not saved" in response.content
    assert not RoutingRuleSet.objects.exists()
