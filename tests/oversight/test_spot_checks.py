"""Spot checks after loosening, against the MultiMail sandbox (in-process): a monitored mailbox's sends
are learned and sampled (10%, at least 5 a day), a reviewer records verdicts, and crossing the threshold
tightens the mailbox back to gated_send once, even with two sweeps racing."""

import threading

import pytest
from django.db import connection

from reviewqueue.audit.models import AuditEvent
from reviewqueue.oversight.models import MonitoredSend, SpotCheckPolicy, Tightening
from reviewqueue.oversight.spot_checks import (
    _in_sample,
    sends_learn,
    spot_check_record,
    spot_checks_evaluate,
    spot_policy,
    spot_sweep,
)
from reviewqueue.routing.models import Mailbox
from tests.oversight.sandbox import multimail_sandbox


@pytest.fixture
def sandbox(monkeypatch):
    app = multimail_sandbox(monkeypatch)
    return app


@pytest.fixture
def monitored(sandbox, db):
    """A mailbox loosened to monitored through the sandbox's own upgrade flow, mirrored here."""
    box = sandbox.client.create_mailbox(address_local="orders", display_name="Orders")
    sandbox.state.upgrade_request(actor={"id": "k"}, mailbox_id=box.id, target_mode="monitored")
    code = sandbox.state.upgrade_codes()[box.id]["code"]
    sandbox.state.upgrade_redeem(actor={"id": "k"}, mailbox_id=box.id, code=code)
    Mailbox.objects.create(mailbox_id=box.id, address=box.address, oversight_mode="monitored")
    return box.id


def send_many(sandbox, mailbox_id: str, count: int) -> None:
    for index in range(count):
        sandbox.client.send(mailbox_id=mailbox_id, to=[f"c{index}@example.org"], subject=f"Order {index}",
                            markdown=f"Your order {index} ships today.")  # fmt: skip
    sandbox.state.advance()


def check_all(mailbox_id: str, user, *, rejects: int, reason: str = "Tone not appropriate") -> None:
    for index, send in enumerate(MonitoredSend.objects.filter(mailbox_id=mailbox_id, sampled=True).order_by("id")):
        verdict = "would_reject" if index < rejects else "would_approve"
        spot_check_record(user=user, send_id=send.pk, verdict=verdict, reason=reason if index < rejects else "")


def test_sends_are_learned_once_and_sampled_at_least_five_a_day(sandbox, monitored):
    send_many(sandbox, monitored, 30)
    assert sends_learn(monitored) == 30
    assert sends_learn(monitored) == 0  # a second sweep finds nothing new
    sampled = MonitoredSend.objects.filter(mailbox_id=monitored, sampled=True)
    # Exactly the emails whose fixed draw (their id hashed) falls in the 10%, and the first ones learned until
    # 5 are sampled. The sandbox's email ids are random, so a bound on the count alone failed now and then (12 of 30).
    policy, expected = spot_policy(monitored), set()
    for send in MonitoredSend.objects.filter(mailbox_id=monitored).order_by("id"):
        if _in_sample(send.email_id, policy.sample_rate) or len(expected) < policy.daily_minimum:
            expected.add(send.email_id)
    assert set(sampled.values_list("email_id", flat=True)) == expected
    assert policy.daily_minimum == 5 and sampled.count() >= 5
    assert all(send.markdown.startswith("Your order") for send in sampled)


def test_a_reviewers_verdict_is_recorded_once_and_audited(sandbox, monitored, reviewer, django_user_model):
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    send = MonitoredSend.objects.filter(sampled=True).first()
    spot_check_record(user=reviewer, send_id=send.pk, verdict="would_approve")
    with pytest.raises(Exception, match="already been recorded"):
        spot_check_record(user=reviewer, send_id=send.pk, verdict="would_reject", reason="late")
    with pytest.raises(ValueError, match="needs a reason"):
        other = MonitoredSend.objects.filter(sampled=True, verdict="").first()
        spot_check_record(user=reviewer, send_id=other.pk, verdict="would_reject", reason=" ")
    assert AuditEvent.objects.filter(action="oversight.spot_checked").count() == 1


def test_under_the_threshold_nothing_is_tightened(sandbox, monitored, reviewer):
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    check_all(monitored, reviewer, rejects=0)
    assert spot_checks_evaluate(monitored) is None
    assert Mailbox.objects.get(mailbox_id=monitored).oversight_mode == "monitored"


def test_crossing_the_threshold_tightens_to_gated_send_and_audits_the_numbers(sandbox, monitored, reviewer):
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    check_all(monitored, reviewer, rejects=1)  # 1 of 5 = 20% > 5%
    assert spot_checks_evaluate(monitored) is not None
    assert sandbox.state.mailboxes_list()[0]["oversight_mode"] == "gated_send"
    assert Mailbox.objects.get(mailbox_id=monitored).oversight_mode == "gated_send"
    event = AuditEvent.objects.get(action="oversight.tightened")
    assert (event.payload["checks"], event.payload["would_reject"], event.payload["share"]) == (5, 1, 0.2)
    assert (event.payload["from"], event.payload["to"], event.payload["told"]) == ("monitored", "gated_send", {})
    assert spot_checks_evaluate(monitored) is None  # already tight


@pytest.mark.parametrize(("reason", "tightens"), [("Contains sensitive or internal data", True), ("Typo", False)])
def test_one_safety_reason_tightens_even_under_the_share(sandbox, monitored, reviewer, reason, tightens):
    SpotCheckPolicy.objects.create(mailbox_id=monitored, reject_share="0.5")  # 1 of 5 is well under 50%
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    check_all(monitored, reviewer, rejects=1, reason=reason)
    tightened = spot_checks_evaluate(monitored)
    assert (tightened is not None) is tightens
    if tightens:
        assert tightened.figures["safety_or_policy_reasons"] == [reason]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_tighten_once(sandbox, monitored, reviewer):
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    check_all(monitored, reviewer, rejects=2)
    barrier, results, errors = threading.Barrier(2), [], []

    def sweep():
        try:
            barrier.wait()
            results.append(spot_checks_evaluate(monitored))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(result is not None for result in results) == 1
    assert Tightening.objects.count() == 1
    assert AuditEvent.objects.filter(action="oversight.tightened").count() == 1
    patches = [e for e in sandbox.state.data["audit"] if e["action"] == "mailbox.updated"]
    assert len(patches) == 1


def test_the_sweep_learns_and_tightens_and_skips_gated_mailboxes(sandbox, monitored, reviewer):
    gated = sandbox.client.create_mailbox(address_local="billing", display_name="Billing")
    Mailbox.objects.create(mailbox_id=gated.id, address=gated.address, oversight_mode="gated_send")
    send_many(sandbox, monitored, 6)
    assert spot_sweep() == {"learned": 6, "tightened": 0, "told_again": 0}
    check_all(monitored, reviewer, rejects=3)
    assert spot_sweep()["tightened"] == 1
    assert not MonitoredSend.objects.filter(mailbox_id=gated.id).exists()


def test_the_queue_page_records_a_verdict_from_its_form(sandbox, monitored, reviewer_client, auditor_client):
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    page = reviewer_client.get("/spot-checks/")
    assert page.status_code == 200 and 'data-key="a"' in page.content.decode()
    send = page.context["send"]
    verdict = {"verdict": "would_reject", "reason_preset": "Wrong recipient"}
    response = reviewer_client.post(f"/spot-checks/{send.pk}/", verdict, follow=True)
    assert "tightened back to gated_send" in response.content.decode()
    assert auditor_client.get("/spot-checks/").status_code == 403


def test_spot_checks_are_part_of_the_evidence_page_and_api(sandbox, monitored, reviewer, auditor_client):
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    check_all(monitored, reviewer, rejects=0)
    body = auditor_client.get("/audit/oversight/").content.decode()
    assert (
        "Spot checks after loosening" in body and monitored in body.split('id="spot-title"')[1].split("</section>")[0]
    )
    from reviewqueue.oversight.spot_checks import spot_summaries

    (summary,) = spot_summaries()
    assert (summary.sends, summary.waiting, summary.window.checks) == (5, 0, summary.sampled)


def test_the_escalation_emails_are_told_of_a_tighten(sandbox, monitored, reviewer, mailoutbox):
    from reviewqueue.sla.models import MailboxPolicy

    MailboxPolicy.objects.create(mailbox_id=monitored, notify_emails=["leads@fernhill.example"])
    send_many(sandbox, monitored, 5)
    sends_learn(monitored)
    check_all(monitored, reviewer, rejects=1, reason="Contains sensitive or internal data")
    spot_checks_evaluate(monitored)
    (mail,) = mailoutbox
    assert mail.to == ["leads@fernhill.example"] and "back to gated_send: 1 of the last 5" in mail.body
    assert "Contains sensitive or internal data" in mail.body
    assert AuditEvent.objects.get(action="oversight.tightened").payload["told"] == {"email": "told"}
