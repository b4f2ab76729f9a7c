"""Intake's follow-up batch, late under load, must not write over the tags a decision put on the email.

Found by the 3,000-draft soak (bench/soak.py, 2026-12-07): under faults a batch came after its draft had been
fetched, decided and tagged by the outbox, and its tag PUT (MultiMail's PUT replaces every tag) erased the
decision's tags. Fixed in f653fee (every tag write reads first, under the email's lock). MultiMail faked at
the HTTP boundary, PostgreSQL and Redis real.
"""

from reviewqueue.routing.followups import intake_followups
from reviewqueue.routing.models import IntakeRecord
from tests.routing.conftest import intake_token, multimail
from tests.routing.test_intake_submit import GOOD, post, routed

__all__ = ["multimail", "routed"]  # fixtures, imported to be found here


def test_the_batch_keeps_a_decisions_tags_put_on_a_draft_it_made_while_the_batch_was_on_its_way(
    client, routed, multimail, broker, django_capture_on_commit_callbacks
):
    """The soak's find: a draft this intake made, not fetched when its batch started, was fetched, decided and
    tagged by the outbox before the batch's PUT, which (set without a read) wrote the decision's tags over."""
    with django_capture_on_commit_callbacks(execute=True):
        draft_id = post(client, GOOD, intake_token()[1]).json()["id"]
    email_id = IntakeRecord.objects.get().email_id
    multimail.emails[email_id]["tags"] = {"reviewed_by": "maya@acme.test", "review_decision_id": "7"}
    assert intake_followups() == 1
    assert multimail.emails[email_id]["tags"] == {
        "reviewed_by": "maya@acme.test",
        "review_decision_id": "7",
        "intercom_conversation_id": "215467",
    }
    assert broker.queued()[1:] == [("review.draft_fetches", [[[draft_id, False]]])]
