"""What the worker does with a verified click (actions.interaction_handle), against the Slack sandbox:
approve, reject through the modal, stale context, a decision made elsewhere, who may decide."""

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.intercom.services import snapshot_refresh
from reviewqueue.integrations.slack.client import SlackClient
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import drafts_context_changed
from reviewqueue.review.models import Decision
from reviewqueue.slack.actions import interaction_handle
from tests.conftest import role_group
from tests.slack.conftest import SITE, TOKEN, click, response_url, submission, told

pytestmark = pytest.mark.django_db


def person(django_user_model, username, email, *roles, active=True):
    user = django_user_model.objects.create_user(username=username, email=email, is_active=active, password="x" * 20)
    for role in roles:
        user.groups.add(role_group(role))
    return user


@pytest.fixture
def maya(django_user_model):
    return person(django_user_model, "maya", "Maya.Patel@fernhill.example", "reviewer")


def handle(slack, payload):
    with SlackClient(base_url=f"{slack.url}/api", token=TOKEN) as client:
        return interaction_handle(payload, site="http://testserver", client=client)


def users_info_calls(slack) -> int:
    return sum(call["method"] == "users.info" for call in slack.app.calls)


def test_approve_decides_as_the_reviewer_the_verified_slack_email_names_with_origin_slack(slack, held, maya):
    assert handle(slack, click(held, "approve", response_url=response_url(slack))) == "approve"
    decision = Decision.objects.get(draft=held)
    assert (decision.reviewer, decision.origin, decision.action) == (maya, "slack", "approve")
    assert decision.snapshot_id == held.latest_snapshot_id
    assert "Slack app; user U0MAYA" in decision.user_agent
    assert told(slack) == [f"«{held.subject}»: approved."]


def test_reject_opens_the_reason_modal_and_its_submission_decides(slack, held, maya):
    url = response_url(slack)
    trigger = slack.app.state.trigger_for("U0MAYA")
    assert handle(slack, click(held, "reject", response_url=url, trigger_id=trigger)) == "modal_opened"
    assert not Decision.objects.filter(draft=held).exists()
    modal = slack.app.state.data["modals"]["U0MAYA"]
    assert modal["callback_id"] == "reviewqueue_reject"
    assert handle(slack, submission(held, "Wrong refund amount", response_url=url)) == "reject"
    decision = Decision.objects.get(draft=held)
    assert (decision.action, decision.reason, decision.origin) == ("reject", "Wrong refund amount", "slack")


def test_a_reject_whose_trigger_expired_tells_the_reviewer_to_use_the_draft_page(slack, held, maya):
    handle(slack, click(held, "reject", response_url=response_url(slack), trigger_id="expired.1"))
    [message] = told(slack)
    assert "would not open the reason form (expired_trigger_id)" in message
    assert f"{SITE}/queue/drafts/{held.pk}/" in message


def test_a_stale_context_answers_with_a_link_instead_of_deciding(slack, held, maya, vendors):
    _, intercom = vendors
    intercom.add_part("c_7", author_type="user", body="<p>Actually, cancel my order</p>", created_at=1_764_000_500)
    snapshot = snapshot_refresh(conversation_id="c_7", client=intercom.client())
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)  # the customer wrote again
    assert handle(slack, click(held, "approve", response_url=response_url(slack))) == "stale"
    assert not Decision.objects.filter(draft=held).exists()
    [message] = told(slack)
    assert message.startswith("Not approved: the conversation changed since this message was posted")
    assert message.endswith(f"{SITE}/queue/drafts/{held.pk}/")


def test_a_draft_decided_elsewhere_meanwhile_answers_who_decided(slack, held, maya, django_user_model):
    tom = person(django_user_model, "tom", "tom@example.com", "reviewer")
    draft_decide(draft=held, reviewer=tom, action="reject", reason="Tone", origin="web")
    assert handle(slack, click(held, "approve", response_url=response_url(slack))) == "refused_by_review"
    assert Decision.objects.get(draft=held).reviewer == tom
    assert "already rejected by tom at" in told(slack)[0]


@pytest.mark.parametrize(
    "user_id, email, roles, confirmed, why",
    [
        ("U0GUEST", None, (), True, "is not that of an active person in reviewqueue"),
        ("U0TOM", "tom.becker@fernhill.example", ("auditor",), True, "You do not have the reviewer role"),
        ("U0TOM", "tom.becker@fernhill.example", ("reviewer",), False, "is not confirmed in Slack"),
        ("U0NOBODY", None, (), True, "could not ask Slack who you are (user_not_found)"),
    ],
)
def test_someone_who_is_not_a_reviewer_is_refused_ephemerally_and_audited(
    slack, held, django_user_model, user_id, email, roles, confirmed, why
):
    if email:
        person(django_user_model, "tom", email, *roles)
    slack.app.state.data["users"].get(user_id, {})["is_email_confirmed"] = confirmed
    payload = click(held, "approve", user=user_id, response_url=response_url(slack, user_id))
    assert handle(slack, payload) == "refused"
    assert not Decision.objects.filter(draft=held).exists()
    assert why in told(slack, user_id)[0]
    assert told(slack, user_id)[0].startswith("Nothing was decided" if "could not" not in why else "reviewqueue")
    if "could not" not in why:
        event = AuditEvent.objects.get(action="slack.refused")
        assert (event.target_id, event.payload["slack_user_id"], event.payload["action"]) == (
            str(held.pk),
            user_id,
            "approve",
        )


def test_a_deactivated_reviewer_is_refused_at_once_though_slack_said_who_they_are_minutes_ago(slack, held, maya):
    handle(slack, click(held, "reject", response_url=response_url(slack)))  # users.info answered, cached
    maya.is_active = False
    maya.save()
    assert handle(slack, click(held, "approve", response_url=response_url(slack))) == "refused"
    assert not Decision.objects.filter(draft=held).exists()


def test_users_info_is_cached_between_clicks(slack, held, maya):
    handle(slack, click(held, "reject", response_url=response_url(slack), trigger_id="x"))
    handle(slack, click(held, "reject", response_url=response_url(slack), trigger_id="y"))
    assert users_info_calls(slack) == 1


def test_a_submission_for_a_draft_we_do_not_have_says_so(slack, held, maya):
    payload = submission(held, "no", response_url=response_url(slack))
    payload["view"]["private_metadata"] = payload["view"]["private_metadata"].replace(
        f'"draft_id": {held.pk}', '"draft_id": 999999'
    )
    assert handle(slack, payload) == "missing"


def test_a_response_url_elsewhere_than_slack_is_never_called(slack, held, maya):
    assert handle(slack, click(held, "approve", response_url="http://169.254.169.254/latest")) == "approve"
    assert told(slack) == []
