"""draft_check_decided_elsewhere reads a pending draft back from MultiMail and answers what it did:
True when it marked the draft decided elsewhere, False when MultiMail still holds it for a person."""

import pytest

from reviewqueue.review.models import Draft
from reviewqueue.review.poll import draft_check_decided_elsewhere

pytestmark = pytest.mark.django_db


def test_a_draft_multimail_no_longer_holds_is_marked_decided_elsewhere_and_the_answer_is_true(draft, multimail):
    multimail.add_email("em_1", status="approved_and_sent")
    assert draft_check_decided_elsewhere(draft_id=draft.pk, multimail=multimail.client()) is True
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.DECIDED_ELSEWHERE


def test_a_draft_multimail_still_holds_stays_pending_and_the_answer_is_false(draft, multimail):
    multimail.add_email("em_1")
    assert draft_check_decided_elsewhere(draft_id=draft.pk, multimail=multimail.client()) is False
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.PENDING
