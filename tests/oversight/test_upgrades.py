"""The upgrade flow against the MultiMail sandbox (in-process): the request with the send key emails a
code, the code redeems the upgrade; 429 after 3 requests an hour and a bad code's 403 come back as
messages; the evidence snapshot, and any justification, are audited."""

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent, AuditVerification
from reviewqueue.oversight.upgrades import UpgradeRefused, upgrade_redeem, upgrade_request
from reviewqueue.routing.models import Mailbox
from tests.oversight.sandbox import multimail_sandbox

from .factories import seed_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(monkeypatch):
    app = multimail_sandbox(monkeypatch)
    app.mailbox = app.client.create_mailbox(address_local="billing", display_name="Billing")
    return app


@pytest.fixture
def ready_history(reviewer, sandbox):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    seed_decision(reviewer, mailbox_id=sandbox.mailbox.id, decided_at=now - timedelta(days=30))
    for index in range(199):
        seed_decision(reviewer, mailbox_id=sandbox.mailbox.id, decided_at=now - timedelta(days=index % 14))
    done = timezone.now()
    AuditVerification.objects.create(started_at=done, finished_at=done, status=AuditVerification.Status.INTACT)


def code_for(sandbox) -> str:
    return sandbox.state.upgrade_codes()[sandbox.mailbox.id]["code"]


def test_a_ready_mailbox_is_loosened_with_the_emailed_code_and_both_steps_are_audited(
    sandbox, admin_user, ready_history
):
    upgrade_request(user=admin_user, mailbox_id=sandbox.mailbox.id, target_mode="monitored")
    mode = upgrade_redeem(user=admin_user, mailbox_id=sandbox.mailbox.id, code=code_for(sandbox))
    assert mode == "monitored"
    assert sandbox.state.mailboxes_list()[0]["oversight_mode"] == "monitored"
    assert Mailbox.objects.get(mailbox_id=sandbox.mailbox.id).oversight_mode == "monitored"  # mirror refreshed
    requested, redeemed = (AuditEvent.objects.get(action=a) for a in ("oversight.upgrade_requested",
                                                                      "oversight.upgrade_redeemed"))  # fmt: skip
    assert requested.payload["ready"] is True and requested.payload["justification"] == ""
    assert requested.payload["evidence"]["verdict"]["summary"].startswith("Ready: 200 decisions")
    assert requested.payload["evidence"]["last_12_weeks"]["decisions"] == 200
    assert redeemed.payload["oversight_mode"] == "monitored" and redeemed.payload["evidence"]["verdict"]["ready"]


def test_not_ready_needs_a_justification_which_is_audited(sandbox, admin_user, reviewer):
    seed_decision(reviewer, mailbox_id=sandbox.mailbox.id)
    with pytest.raises(UpgradeRefused, match=r"Not ready: 1 decisions \(needs 200\).*needs a written justification"):
        upgrade_request(user=admin_user, mailbox_id=sandbox.mailbox.id, target_mode="monitored", justification="  ")
    assert sandbox.state.upgrade_codes() == {}  # MultiMail was not asked
    upgrade_request(user=admin_user, mailbox_id=sandbox.mailbox.id, target_mode="autonomous",
                    justification="Pilot agreed with legal for two weeks")  # fmt: skip
    event = AuditEvent.objects.get(action="oversight.upgrade_requested")
    assert event.payload["ready"] is False and event.payload["justification"] == "Pilot agreed with legal for two weeks"


def test_a_fourth_request_within_the_hour_is_multimails_429_as_a_message(sandbox, admin_user, ready_history):
    for _ in range(3):
        upgrade_request(user=admin_user, mailbox_id=sandbox.mailbox.id, target_mode="monitored")
    with pytest.raises(UpgradeRefused, match=r"3 upgrade requests an hour.*Try again in 60 minutes"):
        upgrade_request(user=admin_user, mailbox_id=sandbox.mailbox.id, target_mode="monitored")
    assert AuditEvent.objects.filter(action="oversight.upgrade_requested").count() == 3


def test_a_bad_code_is_multimails_403_as_a_message_and_nothing_changes(sandbox, admin_user, ready_history):
    upgrade_request(user=admin_user, mailbox_id=sandbox.mailbox.id, target_mode="monitored")
    with pytest.raises(UpgradeRefused, match="did not accept that code"):
        upgrade_redeem(user=admin_user, mailbox_id=sandbox.mailbox.id, code="AAA-AAA")
    assert sandbox.state.mailboxes_list()[0]["oversight_mode"] == "gated_send"
    assert not AuditEvent.objects.filter(action="oversight.upgrade_redeemed").exists()


def test_a_code_with_no_request_pending_says_so(sandbox, admin_user):
    with pytest.raises(UpgradeRefused, match="no pending upgrade request"):
        upgrade_redeem(user=admin_user, mailbox_id=sandbox.mailbox.id, code="ABC-DEF")


def test_the_page_shows_the_refusals_as_messages_and_only_admins_may_ask(
    sandbox, admin_client_, auditor_client, reviewer
):
    seed_decision(reviewer, mailbox_id=sandbox.mailbox.id)
    form = {"mailbox": sandbox.mailbox.id, "target_mode": "monitored", "justification": ""}
    response = admin_client_.post("/manage/oversight/upgrade/request", form, follow=True)
    assert "Not asked: Not ready: 1 decisions (needs 200)" in response.content.decode()
    response = admin_client_.post("/manage/oversight/upgrade/request", {**form, "justification": "pilot"}, follow=True)
    assert "emailed the operator a one-time code" in response.content.decode()
    wrong = {"mailbox": sandbox.mailbox.id, "code": "ZZZ-ZZZ"}
    response = admin_client_.post("/manage/oversight/upgrade/redeem", wrong, follow=True)
    assert "Not upgraded: MultiMail did not accept that code" in response.content.decode()
    assert auditor_client.post("/manage/oversight/upgrade/request", form).status_code == 403
    assert (
        admin_client_.post("/manage/oversight/upgrade/request", {"mailbox": "x", "target_mode": "lax"}).status_code
        == 400
    )
