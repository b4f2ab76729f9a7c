"""Issue 16, finding 1: an agent cannot route a draft around review.

A rule to a mailbox that sends without review needs the admin's explicit, audited confirmation; an
intake token submits only the kinds it lists; and at send time intake refuses a mailbox whose mode
(as last mirrored from MultiMail) is looser than the rules were saved against, whatever the agent
put in the draft to steer it there.
"""

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import IntakeRecord, IntakeToken, RoutingRuleSet
from reviewqueue.routing.rules import Rule
from reviewqueue.routing.services import intake_token_issue, mailboxes_sync, ruleset_save
from tests.routing.conftest import mailbox, rules_saved

URL = "/api/v1/drafts"
DRAFT = {
    "intercom_conversation_id": "215467",
    "to": ["customer@bigcorp.com"],
    "subject": "Your refund",
    "markdown": "Hello, your refund is on its way.",
}


def submit(client, token: str, **fields):
    body = json.dumps({**DRAFT, **fields})
    return client.post(URL, body, content_type="application/json", headers={"Authorization": f"Bearer {token}"})


def loosen(multimail, mailbox_id: str, mode: str) -> None:
    """MultiMail's operator loosens the mailbox, and our periodic sync mirrors it."""
    multimail.mailboxes[mailbox_id]["oversight_mode"] = mode
    mailboxes_sync(actor=Actor.system("routing.mailboxes_sync"))


@pytest.fixture
def two_mailboxes(db, multimail):
    """support (gated_send, the default) and refunds (gated_send), as MultiMail lists them and we mirror them."""
    multimail.add_mailbox("mb_support", "support@acme.multimail.dev")
    multimail.add_mailbox("mb_refunds", "refunds@acme.multimail.dev")
    mailboxes_sync(actor=Actor.system("test"))
    return multimail


# --- the rules editor ------------------------------------------------------------------------------


def save_rules(client, mailbox_id: str, **extra):
    post = {
        "kind": "refund",
        "intercom_team": "",
        "conversation_tag": "",
        "recipient_domain": "",
        "mailbox_id": mailbox_id,
        "default_mailbox_id": "mb_support",
        "op": "save",
        **extra,
    }
    return client.post(reverse("routing:rules"), post)


def test_a_rule_to_a_monitored_mailbox_is_not_saved_without_the_sent_without_review_confirmation(admin_client_, db):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_fast", "fast@acme.multimail.dev", mode="monitored")
    response = save_rules(admin_client_, "mb_fast")
    assert response.status_code == 400
    assert "sent without review" in response.content.decode()
    assert not RoutingRuleSet.objects.exists()


def test_the_confirmed_rule_is_saved_and_the_confirmation_audited(admin_client_, admin_user, db):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_fast", "fast@acme.multimail.dev", mode="autonomous")
    assert save_rules(admin_client_, "mb_fast", confirm_unreviewed="1").status_code == 302
    saved = RoutingRuleSet.objects.get()
    assert saved.mailbox_modes == {"mb_fast": "autonomous", "mb_support": "gated_send"}
    version_page = admin_client_.get(reverse("routing:version", args=[saved.version])).content.decode()
    assert "<code>mb_fast</code> autonomous" in version_page
    confirmed = AuditEvent.objects.get(action="routing.unreviewed_confirmed")
    assert confirmed.actor_id == str(admin_user.pk)
    assert confirmed.payload["sent_without_review"] == {"mb_fast": "autonomous"}


def test_a_rule_to_a_gated_mailbox_needs_no_confirmation(admin_client_, db):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_refunds", "refunds@acme.multimail.dev")
    assert save_rules(admin_client_, "mb_refunds").status_code == 302
    assert not AuditEvent.objects.filter(action="routing.unreviewed_confirmed").exists()


def test_the_save_service_itself_refuses_an_unconfirmed_route_without_review(db):
    mailbox("mb_support", "support@acme.multimail.dev")
    mailbox("mb_fast", "fast@acme.multimail.dev", mode="monitored")
    with pytest.raises(Exception, match="sent without review"):
        ruleset_save(
            rules=[Rule("mb_fast", kind="refund")], default_mailbox_id="mb_support", actor=Actor.system("test")
        )
    assert not RoutingRuleSet.objects.exists()


# --- the kinds an intake token may submit ---------------------------------------------------------


def test_a_kind_the_token_does_not_list_is_a_400_naming_kind(client, two_mailboxes):
    rules_saved(default="mb_support", rules=[Rule("mb_refunds", kind="refund")])
    _, raw = intake_token_issue(name="fin", kinds=["shipping"], actor=Actor.system("test"))
    response = submit(client, raw, kind="refund")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"kind"}
    assert two_mailboxes.sends == [] and not IntakeRecord.objects.exists()


def test_listed_kinds_and_drafts_without_a_kind_are_accepted(client, two_mailboxes, broker):
    rules_saved(default="mb_support", rules=[Rule("mb_refunds", kind="refund")])
    _, raw = intake_token_issue(name="fin", kinds=["refund"], actor=Actor.system("test"))
    assert submit(client, raw, kind="refund").json()["mailbox_id"] == "mb_refunds"
    assert submit(client, raw, subject="Anything else?").json()["mailbox_id"] == "mb_support"


def test_issue_intake_token_takes_the_kinds(db, capsys):
    call_command("issue_intake_token", "Fin connector", "--kinds", "shipping,refund")
    assert capsys.readouterr().out.strip().startswith("rqi_")
    assert IntakeToken.objects.get().kinds == ["refund", "shipping"]
    with pytest.raises(CommandError, match="kind"):
        call_command("issue_intake_token", "bad", "--kinds", "refund,no spaces")


def test_the_admin_token_page_sets_the_kinds_and_refuses_a_bad_one(admin_client_):
    response = admin_client_.post(reverse("routing:intake_tokens"), {"name": "Fin", "kinds": "refund, bad kind"})
    assert response.status_code == 400 and not IntakeToken.objects.exists()
    admin_client_.post(reverse("routing:intake_tokens"), {"name": "Fin", "kinds": "refund, shipping"})
    assert IntakeToken.objects.get().kinds == ["refund", "shipping"]


# --- the send-time check: the mailbox's mode as last mirrored ---------------------------------------

# Each way an agent steers routing: the kind it names, the recipient it writes to, or neither (the
# default mailbox): (the rule, the draft's fields, where it routes).
STEERING = {
    "kind": (Rule("mb_refunds", kind="refund"), {"kind": "refund"}, "mb_refunds"),
    "recipient domain": (Rule("mb_refunds", recipient_domain="bigcorp.com"), {}, "mb_refunds"),
    "default mailbox": (Rule("mb_refunds", kind="refund"), {}, "mb_support"),
}


@pytest.mark.parametrize("steering", STEERING, ids=list(STEERING))
def test_intake_refuses_a_mailbox_loosened_since_the_rules_were_saved(client, two_mailboxes, steering):
    rule, fields, routed_to = STEERING[steering]
    ruleset = rules_saved(default="mb_support", rules=[rule])
    _, raw = intake_token_issue(name="fin", kinds=["refund"], actor=Actor.system("test"))
    loosen(two_mailboxes, routed_to, "monitored")

    response = submit(client, raw, **fields)

    assert response.status_code == 409
    assert "without" in response.json()["error"] and "review" in response.json()["error"]
    assert two_mailboxes.sends == []
    assert not IntakeRecord.objects.exists() and not Draft.objects.exists()
    refused = AuditEvent.objects.get(action="intake.refused")
    assert refused.actor_type == "token" and refused.target_id == routed_to
    assert refused.payload["oversight_mode"] == "monitored"
    assert refused.payload["saved_oversight_mode"] == "gated_send"
    assert refused.payload["routing_version"] == ruleset.version


def test_rules_saved_before_modes_were_recorded_send_only_to_a_mailbox_mirrored_as_gated(client, db, multimail):
    multimail.add_mailbox("mb_support", "support@acme.multimail.dev")
    RoutingRuleSet.objects.create(version=1, rules=[], default_mailbox_id="mb_support")  # an older version
    _, raw = intake_token_issue(name="fin", actor=Actor.system("test"))
    assert submit(client, raw).status_code == 409
    assert multimail.sends == []


def test_a_confirmed_monitored_route_sends_until_the_mailbox_becomes_autonomous(client, two_mailboxes, broker):
    loosen(two_mailboxes, "mb_refunds", "monitored")
    ruleset_save(
        rules=[Rule("mb_refunds", kind="refund")],
        default_mailbox_id="mb_support",
        confirm_unreviewed=True,
        actor=Actor.system("test"),
    )
    _, raw = intake_token_issue(name="fin", kinds=["refund"], actor=Actor.system("test"))
    assert submit(client, raw, kind="refund").status_code == 202
    loosen(two_mailboxes, "mb_refunds", "autonomous")
    assert submit(client, raw, kind="refund", subject="Another one").status_code == 409
    assert len(two_mailboxes.sends) == 1


def test_a_stricter_mailbox_still_sends(client, two_mailboxes, broker):
    rules_saved(default="mb_support")
    _, raw = intake_token_issue(name="fin", actor=Actor.system("test"))
    loosen(two_mailboxes, "mb_support", "gated_all")
    assert submit(client, raw).status_code == 202


def test_a_request_accepted_before_the_mailbox_loosened_still_answers_with_its_draft(client, two_mailboxes, broker):
    rules_saved(default="mb_support")
    _, raw = intake_token_issue(name="fin", actor=Actor.system("test"))
    first = submit(client, raw)
    loosen(two_mailboxes, "mb_support", "autonomous")
    again = submit(client, raw)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"] and len(two_mailboxes.sends) == 1
