"""A decision raced from Slack, the Intercom Inbox app and the draft page at once: exactly one wins,
and the other two are told who (real PostgreSQL, one connection per surface)."""

import pytest
from django.urls import reverse

from reviewqueue.integrations.slack.client import SlackClient
from reviewqueue.review.models import Decision
from reviewqueue.slack.actions import interaction_handle
from tests.conftest import logged_in_client, make_user, role_group
from tests.inbox.conftest import INITIALIZE, SUBMIT, initialize_body, post, submit_body, texts
from tests.inbox.conftest import SECRET as INTERCOM_SECRET
from tests.slack.conftest import TOKEN, click, response_url, told
from tests.surfaces import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_decision_wins_across_slack_the_inbox_app_and_the_web_page_and_the_others_see_who(
    client, held, reviewer, django_user_model, settings, slack
):
    settings.INTERCOM_CLIENT_SECRET = INTERCOM_SECRET
    tom = make_user(django_user_model, "tom", "reviewer")
    maya = django_user_model.objects.create_user(
        username="maya", email="maya.patel@fernhill.example", password="x" * 20
    )
    maya.groups.add(role_group("reviewer"))
    shown = post(client, INITIALIZE, initialize_body()).json()  # rita, in Intercom
    web = logged_in_client(tom)
    reason = {f"reason:{held.pk}": "Tone"}
    slack_click = click(held, "approve", response_url=response_url(slack))  # maya, in Slack

    def from_slack():
        with SlackClient(base_url=f"{slack.url}/api", token=TOKEN) as slack_client:
            return interaction_handle(slack_click, site="http://testserver", client=slack_client)

    deciders = {
        "slack": from_slack,
        "intercom": lambda: post(client, SUBMIT, submit_body(shown, f"reject:{held.pk}", input_values=reason)),
        "web": lambda: web.post(
            reverse("review:draft_decision", args=[held.pk]), {"action": "reject", "reason_text": "Wrong order"}
        ),
    }
    answers = race(deciders)

    decision = Decision.objects.get(draft=held)
    winner = {"maya": "slack", "rita": "intercom", "tom": "web"}[decision.reviewer_username]
    assert decision.origin == winner
    told_who = f"already {decision.verb} by {decision.reviewer_username} at"
    losers = {
        "slack": lambda answer: answer == "refused_by_review" and told_who in told(slack)[0],
        "intercom": lambda answer: told_who in texts(answer, "error")[0],
        "web": lambda answer: answer.status_code == 409 and told_who.capitalize() in answer.content.decode(),
    }
    for name, answer in answers.items():
        if name != winner:
            assert losers[name](answer), (name, answer)
    if winner == "slack":
        assert told(slack) == [f"«{held.subject}»: approved."]
