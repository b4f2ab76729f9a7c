"""Contract: submit carries out the click as the mapped reviewer, through review's draft_decide (origin
intercom), and answers with the panel as it is now."""

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.intercom import canvas
from reviewqueue.integrations.intercom.services import snapshot_refresh
from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import drafts_context_changed
from reviewqueue.review.models import Decision, Draft
from tests.conftest import make_user
from tests.inbox.conftest import (
    INITIALIZE,
    SUBMIT,
    admin,
    component_ids,
    components,
    initialize_body,
    post,
    submit_body,
    texts,
)
from tests.review.test_draft_fetch import WRITTEN

pytestmark = pytest.mark.django_db

CANCEL = "Actually, please cancel my order instead!"


def shown_panel(client, **fields) -> dict:
    return post(client, INITIALIZE, initialize_body(**fields)).json()


def click(client, shown: dict, component_id: str, *, reason: str | None = None, **fields):
    draft_id = component_id.split(":")[1]
    values = {} if reason is None else {f"reason:{draft_id}": reason}
    answer = post(client, SUBMIT, submit_body(shown, component_id, input_values=values, **fields))
    assert answer.status_code == 200, answer.content
    return answer


def customer_writes_again(intercom) -> int:
    """The customer writes in Intercom and its webhook refreshes the snapshot: the new snapshot's id."""
    intercom.add_part("c_7", author_type="user", body=f"<p>{CANCEL}</p>", created_at=WRITTEN + 120)
    snapshot = snapshot_refresh(conversation_id="c_7", client=intercom.client())
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)
    return snapshot.pk


def test_approve_decides_as_the_mapped_reviewer_from_intercom_and_answers_the_new_panel(client, held, reviewer):
    answer = click(client, shown_panel(client), f"approve:{held.pk}")
    decision = Decision.objects.get(draft=held)
    assert (decision.action, decision.origin, decision.reviewer, decision.snapshot_id) == (
        "approve",
        "intercom",
        reviewer,
        held.latest_snapshot_id,
    )
    assert "admin 991" in decision.user_agent  # which Intercom teammate clicked
    event = AuditEvent.objects.get(action="draft.decided", target_id=str(held.pk))
    assert event.payload["origin"] == "intercom" and event.actor_id == str(reviewer.pk)
    assert texts(answer)[0] == f"«{canvas.plain(held.subject)}»: approved."
    assert "Nothing held for this conversation" in texts(answer, "muted")
    assert not component_ids(answer)  # the draft is decided: no buttons left


def test_reject_without_a_reason_marks_the_textarea_and_decides_nothing(client, held, reviewer):
    answer = click(client, shown_panel(client), f"reject:{held.pk}", reason="   ")
    assert not Decision.objects.exists()
    [reason] = [c for c in components(answer) if c["type"] == "textarea"]
    assert reason["id"] == f"reason:{held.pk}" and reason["error"] is True
    assert texts(answer, "error") == [canvas.plain("A rejection needs a reason: write it above.")]


def test_reject_with_a_reason_records_it(client, held, reviewer):
    click(client, shown_panel(client), f"reject:{held.pk}", reason="Promises a refund we do not give")
    decision = Decision.objects.get(draft=held)
    assert (decision.action, decision.reason, decision.origin) == (
        "reject",
        "Promises a refund we do not give",
        "intercom",
    )


def test_request_changes_needs_feedback_and_records_it(client, held, reviewer):
    shown = shown_panel(client)
    answer = click(client, shown, f"request_changes:{held.pk}")
    assert "needs feedback for the agent" in texts(answer, "error")[0] and not Decision.objects.exists()
    click(client, shown, f"request_changes:{held.pk}", reason="Say when the refund arrives")
    decision = Decision.objects.get(draft=held)
    assert (decision.action, decision.reason) == ("request_changes", "Say when the refund arrives")


# --- The stale-context guard, as the draft page has it.


def test_a_conversation_changed_since_the_panel_was_drawn_asks_again_with_the_change(client, held, reviewer, vendors):
    _, intercom = vendors
    shown = shown_panel(client)
    latest = customer_writes_again(intercom)
    answer = click(client, shown, f"approve:{held.pk}")
    assert not Decision.objects.exists()
    [change] = texts(answer, "error")
    assert change.startswith("The conversation changed since this panel was drawn: ") and "cancel my order" in change
    assert f"confirm_approve:{held.pk}" in component_ids(answer) and f"approve:{held.pk}" not in component_ids(answer)
    assert answer.json()["canvas"]["stored_data"]["shown"] == {str(held.pk): latest}

    click(client, answer.json(), f"confirm_approve:{held.pk}")
    decision = Decision.objects.get(draft=held)
    assert (decision.origin, decision.confirmed_changed, decision.snapshot_id) == ("intercom", True, latest)


def test_a_refresh_that_finds_the_same_conversation_is_no_change(client, held, reviewer, vendors):
    """An Intercom webhook (or the poll) lands between drawing the panel and the click, with nothing new
    in the conversation: its snapshot is the one the panel carried, so the approval decides at once."""
    _, intercom = vendors
    shown = shown_panel(client)
    refreshed = snapshot_refresh(conversation_id="c_7", client=intercom.client())
    drafts_context_changed(conversation_id="c_7", snapshot_id=refreshed.pk)
    assert shown["canvas"]["stored_data"]["shown"] == {str(held.pk): refreshed.pk}
    answer = click(client, shown, f"approve:{held.pk}")
    decision = Decision.objects.get(draft=held)
    assert (decision.confirmed_changed, decision.snapshot_id) == (False, refreshed.pk)
    assert texts(answer)[0] == f"«{canvas.plain(held.subject)}»: approved."


def test_a_panel_drawn_again_keeps_the_snapshot_first_shown(client, held, reviewer, vendors):
    """A failed reject redraws the panel after the customer wrote: the approval that follows is still asked."""
    _, intercom = vendors
    shown = shown_panel(client)
    customer_writes_again(intercom)
    redrawn = click(client, shown, f"reject:{held.pk}", reason="")
    assert redrawn.json()["canvas"]["stored_data"]["shown"] == shown["canvas"]["stored_data"]["shown"]
    answer = click(client, redrawn.json(), f"approve:{held.pk}")
    assert not Decision.objects.exists() and f"confirm_approve:{held.pk}" in component_ids(answer)


def test_rejecting_never_asks(client, held, reviewer, vendors):
    _, intercom = vendors
    shown = shown_panel(client)
    customer_writes_again(intercom)
    click(client, shown, f"reject:{held.pk}", reason="Customer cancelled")
    assert Decision.objects.get(draft=held).action == "reject"


# --- Decided meanwhile, claimed, not on the panel, not a reviewer.


def test_a_draft_decided_meanwhile_answers_with_who_decided_it(client, held, reviewer, django_user_model):
    shown = shown_panel(client)
    tom = make_user(django_user_model, "tom", "reviewer")
    draft_decide(draft=Draft.objects.get(pk=held.pk), reviewer=tom, action="reject", reason="Tone", origin="web")
    answer = click(client, shown, f"approve:{held.pk}")
    assert Decision.objects.get(draft=held).reviewer == tom
    [notice] = texts(answer, "error")
    assert notice.startswith(f"«{canvas.plain(held.subject)}»: already rejected by tom at ")
    assert any(text.startswith(f"«{canvas.plain(held.subject)}»: rejected by tom, ") for text in texts(answer, "muted"))


def test_a_draft_another_reviewer_holds_is_not_decided(client, held, reviewer, django_user_model):
    shown = shown_panel(client)
    draft_claim(draft=held, reviewer=make_user(django_user_model, "tom", "reviewer"))
    answer = click(client, shown, f"approve:{held.pk}")
    assert not Decision.objects.exists()
    assert "claimed by tom until" in texts(answer, "error")[0]


def test_a_draft_the_panel_did_not_show_is_not_decided(client, held, reviewer):
    nothing_shown = {"canvas": {"content": {"components": []}, "stored_data": {"conversation_id": "c_7", "shown": {}}}}
    answer = click(client, nothing_shown, f"approve:{held.pk}")
    assert not Decision.objects.exists()
    assert texts(answer, "error") == [canvas.plain("That draft was not on the panel you saw; here it is as it is now.")]
    assert f"approve:{held.pk}" in component_ids(answer)


def test_a_draft_of_another_conversation_is_not_decided(client, held, reviewer):
    shown = shown_panel(client)
    other = {**shown["canvas"]["stored_data"], "conversation_id": "c_8"}
    click(client, {"canvas": {**shown["canvas"], "stored_data": other}}, f"approve:{held.pk}", conversation_id="c_8")
    assert not Decision.objects.exists()


@pytest.mark.parametrize("email", ["nobody@example.com", "otto@example.com", "aldo@example.com"])
def test_a_teammate_who_is_not_a_reviewer_can_never_decide(client, held, reviewer, outsider, auditor, email):
    shown = shown_panel(client)  # a reviewer's panel, replayed by a teammate who is not one
    answer = click(client, shown, f"approve:{held.pk}", teammate=admin(email))
    assert not Decision.objects.exists()
    assert texts(answer, "error")[0].startswith("Nothing was decided: ")
    assert not [c for c in components(answer) if c["type"] in ("button", "textarea")]


def test_a_reviewer_whose_role_was_taken_away_since_the_panel_can_no_longer_decide(client, held, reviewer):
    shown = shown_panel(client)
    reviewer.groups.clear()
    click(client, shown, f"approve:{held.pk}")
    assert not Decision.objects.exists()


def test_four_eyes_a_first_approval_from_intercom_is_recorded_and_the_draft_stays_held(
    client, held, reviewer, django_user_model
):
    from reviewqueue.sla.models import MailboxPolicy

    MailboxPolicy.objects.create(mailbox_id=held.mailbox_id, approvals_required=2)
    shown = shown_panel(client)
    answer = click(client, shown, f"approve:{held.pk}")
    assert not Decision.objects.exists()
    assert texts(answer)[0].startswith("First approval by rita recorded")
    assert any("first of two approvals given by you" in text for text in texts(answer, "muted"))
    again = click(client, answer.json(), f"approve:{held.pk}")  # the same reviewer cannot be the second
    assert not Decision.objects.exists() and texts(again, "error")

    make_user(django_user_model, "vera", "reviewer")
    vera_sees = post(client, INITIALIZE, initialize_body(teammate=admin("vera@example.com")))
    assert any("first of two approvals given by rita" in text for text in texts(vera_sees, "muted"))
    click(client, shown_panel(client, teammate=admin("vera@example.com")), f"approve:{held.pk}",
          teammate=admin("vera@example.com"))  # fmt: skip
    assert Decision.objects.get(draft=held).origin == "intercom"
