from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.claims import draft_claim, draft_release
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import DraftClaimedByOther, DraftNotPending
from reviewqueue.review.models import Claim
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(django_user_model):
    return make_user(django_user_model, "sam", "reviewer")


def test_a_claim_holds_the_draft_for_claim_ttl(draft, reviewer, settings):
    settings.CLAIM_TTL = 600
    claim = draft_claim(draft=draft, reviewer=reviewer)
    assert claim.holder == reviewer
    assert timedelta(seconds=590) < claim.expires_at - timezone.now() <= timedelta(seconds=600)
    assert AuditEvent.objects.filter(action="draft.claimed").count() == 1


def test_others_see_who_holds_the_claim(draft, reviewer, sam):
    draft_claim(draft=draft, reviewer=reviewer)
    with pytest.raises(DraftClaimedByOther) as refused:
        draft_claim(draft=draft, reviewer=sam)
    assert refused.value.claim.holder == reviewer
    assert "rita" in str(refused.value)


def test_taking_over_a_claim_is_visible_in_the_audit_log(draft, reviewer, sam):
    draft_claim(draft=draft, reviewer=reviewer)
    claim = draft_claim(draft=draft, reviewer=sam, take_over=True)
    assert claim.holder == sam
    event = AuditEvent.objects.get(action="draft.claim_taken_over")
    assert event.payload["previous_holder"]["username"] == "rita"
    assert event.actor_label == "sam"


def test_an_expired_claim_no_longer_holds(draft, reviewer, sam):
    draft_claim(draft=draft, reviewer=reviewer)
    Claim.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert draft_claim(draft=draft, reviewer=sam).holder == sam
    assert not AuditEvent.objects.filter(action="draft.claim_taken_over").exists()
    decision = draft_decide(draft=draft, reviewer=sam, action="approve", reason="", origin="web")
    assert decision.reviewer == sam


def test_claiming_again_extends_ones_own_claim_quietly(draft, reviewer):
    first = draft_claim(draft=draft, reviewer=reviewer)
    Claim.objects.update(expires_at=timezone.now() + timedelta(seconds=5))
    again = draft_claim(draft=draft, reviewer=reviewer)
    assert again.expires_at > first.expires_at - timedelta(seconds=1)
    assert AuditEvent.objects.filter(action="draft.claimed").count() == 1


def test_releasing_drops_only_ones_own_claim(draft, reviewer, sam):
    draft_claim(draft=draft, reviewer=reviewer)
    assert draft_release(draft=draft, reviewer=sam) is False
    assert draft_release(draft=draft, reviewer=reviewer) is True
    assert not Claim.objects.exists()
    assert AuditEvent.objects.filter(action="draft.released").count() == 1


def test_a_decided_draft_cannot_be_claimed(draft, reviewer, sam):
    draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="web")
    with pytest.raises(Exception, match="already approved"):
        draft_claim(draft=draft, reviewer=sam)


def test_a_draft_decided_elsewhere_cannot_be_claimed(draft, reviewer):
    type(draft).objects.filter(pk=draft.pk).update(status="decided_elsewhere")
    with pytest.raises(DraftNotPending):
        draft_claim(draft=draft, reviewer=reviewer)
