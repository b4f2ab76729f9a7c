"""A decision raced from the Inbox app, the draft page and the API at once: exactly one wins, and the
others are told who (real PostgreSQL, one connection per surface)."""

import pytest
from django.urls import reverse

from reviewqueue.review.models import Decision
from tests.conftest import logged_in_client, make_user
from tests.inbox.conftest import INITIALIZE, SUBMIT, initialize_body, post, submit_body, texts
from tests.review.test_api_drafts import api, post_decision
from tests.surfaces import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_decision_wins_across_the_three_surfaces_and_the_others_see_who(client, held, reviewer, django_user_model):
    tom, vera = (make_user(django_user_model, name, "reviewer") for name in ("tom", "vera"))
    shown = post(client, INITIALIZE, initialize_body()).json()
    web, agent = logged_in_client(tom), api(vera)

    deciders = {
        "intercom": lambda: post(client, SUBMIT, submit_body(shown, f"approve:{held.pk}")),
        "web": lambda: web.post(
            reverse("review:draft_decision", args=[held.pk]), {"action": "reject", "reason_text": "Tone"}
        ),
        "api": lambda: post_decision(agent, held.pk, {"action": "reject", "reason": "Wrong order"}),
    }
    answers = race(deciders)

    decision = Decision.objects.get(draft=held)
    winner = {"rita": "intercom", "tom": "web", "vera": "api"}[decision.reviewer_username]
    told = f"already {decision.verb} by {decision.reviewer_username} at"
    losers = {
        "intercom": lambda answer: told in texts(answer, "error")[0],
        "web": lambda answer: answer.status_code == 409 and told.capitalize() in answer.content.decode(),
        "api": lambda answer: answer.status_code == 409 and told in answer.json()["error"],
    }
    assert decision.origin == winner
    for name, answer in answers.items():
        if name != winner:
            assert losers[name](answer), name
