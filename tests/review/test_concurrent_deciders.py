import threading

import pytest
from django.db import connection

from reviewqueue.accounts.roles import role_group
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import DraftAlreadyDecided
from reviewqueue.review.models import Decision, OutboxItem
from reviewqueue.review.outbox import outbox_run
from tests.review.conftest import received_draft


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_deciders_make_one_decision_and_one_decide_call(broker, django_user_model, multimail):
    multimail.add_email("em_1")
    draft = received_draft()
    # No passwords: these reviewers never log in, and hashing twenty passwords would be most of the test's time.
    reviewers = [django_user_model.objects.create(username=f"rev{n}", email=f"rev{n}@example.com") for n in range(20)]
    role_group("reviewer").user_set.add(*reviewers)
    start = threading.Barrier(20)
    outcomes = []

    def decide(reviewer):
        start.wait()
        try:
            draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="api")
            outcomes.append("won")
        except DraftAlreadyDecided as error:
            outcomes.append(error.decision.reviewer_username)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    decision = Decision.objects.get()
    assert outcomes.count("won") == 1
    assert outcomes.count(decision.reviewer_username) == 19  # every loser was told who won
    client = multimail.client()
    for item in OutboxItem.objects.filter(kind="decide"):
        for _ in range(3):  # delivered more than once: still one call
            outbox_run(item_id=item.pk, multimail=client)
    assert OutboxItem.objects.filter(kind="decide").count() == 1
    assert multimail.calls["decide"] == 1
    assert multimail.emails["em_1"]["status"] == "approved_and_sent"
