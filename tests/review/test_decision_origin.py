"""draft_decide's origin follows Decision.Origin: every surface it names is accepted, anything else is
refused with a message that lists them (it once said "web or api" after system, intercom, slack came)."""

import pytest

from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import InvalidDecision
from reviewqueue.review.models import Decision, Draft

pytestmark = pytest.mark.django_db


def test_an_unknown_origin_is_refused_naming_every_known_one(draft, reviewer):
    with pytest.raises(InvalidDecision) as refused:
        draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong recipient", origin="email")
    assert str(refused.value) == "origin must be one of web, api, system, intercom, slack"
    assert not Decision.objects.exists()


@pytest.mark.parametrize("origin", ["system", "intercom", "slack"])
def test_the_newer_origins_are_accepted(draft, reviewer, origin):
    decision = draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong recipient", origin=origin)
    assert decision.origin == origin
    assert Draft.objects.get(pk=draft.pk).status == "decided"
