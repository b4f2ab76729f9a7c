"""Rejecting from "inside Slack": the Slack sandbox's channel page shows the review request the worker
posted, its Reject button opens the reason modal (views.open from the worker), and the modal's
submission decides through reviewqueue's real interactivity URL under gunicorn, signed; the message
is then edited in place."""

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Decision
from reviewqueue.sandbox.server import start_in_thread
from reviewqueue.sandbox.slack import defaults
from reviewqueue.sandbox.slack.app import Knobs, make_app
from reviewqueue.slack.channels import slack_channel_set
from reviewqueue.slack.services import post_queue
from tests.livesystem import wait_for
from tests.review.page_helpers import make_draft


@pytest.fixture
def slack(live_system, settings):
    """The Slack sandbox where the live system's web and worker look for Slack (LiveSystem.slack_port)."""
    app = make_app(knobs=Knobs(interactions_url=f"{live_system.web_url}/integrations/slack/interactions"))
    app.state.data["users"]["U0RITA"] = {"name": "Rita", "email": "rita@example.com", "is_email_confirmed": True}
    server = start_in_thread(app, port=live_system.slack_port)
    settings.SLACK_API_URL = f"http://127.0.0.1:{live_system.slack_port}/api"
    settings.SLACK_BOT_TOKEN, settings.SLACK_SIGNING_SECRET = defaults.BOT_TOKEN, defaults.SIGNING_SECRET
    server.app = app
    yield server
    server.stop()


def messages(slack) -> list[dict]:
    return slack.app.state.channel(defaults.CHANNEL)["messages"]


@pytest.mark.browser
def test_a_reviewer_rejects_from_the_slack_modal_and_the_message_says_who(page, page_watch, person, slack):
    person("rita", "reviewer")
    slack_channel_set(mailbox_id="mbx_support", channel=defaults.CHANNEL, actor=Actor.system("test"))
    draft = make_draft(subject="Your refund of 40 EUR")
    post_queue(draft_id=draft.pk)  # what draft_ready does once a fetch commits; the worker posts it
    wait_for(lambda: messages(slack), timeout=30, what="the worker posted the review request")

    page.goto(f"{slack.url}/?as=U0RITA", wait_until="load")
    page.get_by_text("Your refund of 40 EUR").wait_for()
    page.get_by_role("button", name="Reject", exact=True).click()
    modal = page.get_by_role("dialog", name="Reject draft")
    modal.wait_for(timeout=20_000)  # the worker asked Slack to open it; the page reloads until it shows
    modal.get_by_role("button", name="Reject", exact=True).click()  # no reason yet: refused in the modal
    modal.get_by_text("A rejection needs a reason.").wait_for()
    assert not Decision.objects.filter(draft=draft).exists()
    modal.get_by_label("Reason").fill("The refund was 45 EUR, not 40")
    modal.get_by_role("button", name="Reject", exact=True).click()

    page.get_by_text("Only visible to you: «Your refund of 40 EUR»: rejected.").wait_for(timeout=20_000)
    decision = Decision.objects.get(draft=draft)
    assert (decision.origin, decision.reviewer.username, decision.action) == ("slack", "rita", "reject")
    assert decision.reason == "The refund was 45 EUR, not 40"
    page.get_by_text("Rejected by rita in Slack").wait_for(timeout=20_000)  # the message, edited in place
    assert page.get_by_role("button", name="Approve", exact=True).count() == 0
    assert page_watch.page_errors == []
