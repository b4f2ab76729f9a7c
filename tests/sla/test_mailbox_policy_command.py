import pytest
from django.core.management import CommandError, call_command

from reviewqueue.audit.models import AuditEvent
from reviewqueue.sla.models import MailboxPolicy

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("mailbox_policy", *args, stdout=out)
    return out.getvalue()


def test_the_command_sets_the_policy_and_prints_it(mailbox):
    printed = run("mbx_1", "--target", "30m", "--expire", "24h", "--approvals", "2", "--notify-email", "a@x.test")
    assert printed.splitlines() == [
        "mailbox mbx_1 (support@acme.test)",
        "decision target: 30m",
        "expiry: 24h",
        "approvals required: 2",
        "slack webhook: none",
        "notify emails: a@x.test",
    ]
    policy = MailboxPolicy.objects.get(mailbox_id="mbx_1")
    assert (policy.target.total_seconds(), policy.expiry.total_seconds(), policy.approvals_required) == (1800, 86400, 2)


def test_every_change_is_audited_with_old_and_new_values(mailbox):
    run("mbx_1", "--target", "30m")
    run("mbx_1", "--target", "4h", "--expire", "2d")
    run("mbx_1", "--target", "4h")  # no change: no event
    events = list(AuditEvent.objects.filter(action="sla.policy_changed").order_by("seq"))
    assert len(events) == 2
    assert (events[1].payload["old"]["target"], events[1].payload["new"]["target"]) == ("30m", "4h")
    assert (events[1].payload["old"]["expiry"], events[1].payload["new"]["expiry"]) == ("off", "2d")


def test_only_what_is_given_changes_and_off_clears(mailbox):
    run("mbx_1", "--target", "30m", "--approvals", "2")
    printed = run("mbx_1", "--target", "off")
    assert "decision target: off" in printed and "approvals required: 2" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "30 minutes"], "--target: bad duration '30 minutes'"),
        (["--expire", "0h"], "--expire: bad duration '0h'"),
        (["--notify-email", "not-an-address"], "'not-an-address' is not an email address"),
        (["--slack-webhook", "http://hooks.example.com/x"], "must start with https://"),
    ],
)
def test_a_bad_value_is_an_error_naming_it(mailbox, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("mbx_1", *args)
    assert not MailboxPolicy.objects.exists()


def test_an_unknown_mailbox_is_named(db):
    with pytest.raises(CommandError, match="no mailbox 'mbx_nope'"):
        run("mbx_nope", "--target", "30m")


def test_the_command_without_options_prints_the_policy_and_changes_nothing(mailbox):
    printed = run("mbx_1")
    assert "decision target: off" in printed and "approvals required: 1" in printed
    assert not MailboxPolicy.objects.exists() and not AuditEvent.objects.filter(action="sla.policy_changed").exists()
