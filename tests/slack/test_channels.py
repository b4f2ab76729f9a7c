"""A mailbox's Slack channel: manage.py slack_channel shows, sets and clears it, audited; bad values refused."""

import pytest
from django.core.management import CommandError, call_command

from reviewqueue.audit.models import AuditEvent
from reviewqueue.slack.channels import channel_of

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("slack_channel", *args, stdout=out)
    return out.getvalue()


def test_a_channel_is_set_shown_and_cleared_each_change_audited():
    assert run("mb_1") == "mb_1: no Slack channel\n"
    assert run("mb_1", "#billing-reviews") == "mb_1: #billing-reviews\n"
    assert run("mb_1", "#billing-reviews") == "unchanged\nmb_1: #billing-reviews\n"
    assert run("mb_1", "C0123ABC") == "mb_1: C0123ABC\n"
    assert run("mb_1", "off") == "mb_1: no Slack channel\n"
    assert channel_of("mb_1") == ""
    events = list(AuditEvent.objects.filter(target_id="mb_1").order_by("seq").values_list("action", "payload"))
    assert [action for action, _ in events] == ["slack.channel_set", "slack.channel_set", "slack.channel_cleared"]
    assert events[1][1] == {"mailbox_id": "mb_1", "channel": "C0123ABC", "before": "#billing-reviews"}


@pytest.mark.parametrize("bad", ["#Has Spaces", "<@U123>", "https://hooks.slack.com/x", "#" + "a" * 90])
def test_what_is_not_a_channel_is_refused_saying_what_one_is(bad):
    with pytest.raises(CommandError, match="a Slack channel is an id such as C0123ABC or a name such as #reviews"):
        run("mb_1", bad)
    assert channel_of("mb_1") == ""
