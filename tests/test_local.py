"""`make run` on the local default: the demo's drafts come in through intake, set up once."""

from django.test import Client

from reviewqueue.local import seed_demo_intake
from reviewqueue.routing.models import IntakeToken, RoutingRuleSet
from reviewqueue.sandbox.multimail import defaults


def test_demo_routing_and_intake_token_are_made_once_and_reused(db, tmp_path):
    first = seed_demo_intake(tmp_path)
    again = seed_demo_intake(tmp_path)
    assert first == again
    assert IntakeToken.objects.count() == 1
    ruleset = RoutingRuleSet.objects.get()
    assert ruleset.default_mailbox_id == defaults.DEMO_MAILBOX_ID
    # The token is a real intake token: intake accepts it (and refuses the body, naming the fields).
    answer = Client().post(
        "/api/v1/drafts", data={}, content_type="application/json", headers={"Authorization": f"Bearer {first}"}
    )
    assert answer.status_code == 400


def test_a_revoked_demo_token_is_replaced(db, tmp_path):
    first = seed_demo_intake(tmp_path)
    IntakeToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    second = seed_demo_intake(tmp_path)
    assert second != first
    assert IntakeToken.objects.filter(revoked_at__isnull=True).count() == 1
