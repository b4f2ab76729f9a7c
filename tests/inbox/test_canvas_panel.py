"""Contract: initialize draws the conversation's panel, as the mapped teammate may see it."""

import pytest

from reviewqueue.integrations.intercom import canvas
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Draft
from tests.conftest import make_user
from tests.inbox.conftest import INITIALIZE, SITE, admin, component_ids, components, initialize_body, post, texts
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

BUTTONS = {"approve", "reject", "request_changes", "open"}


def panel(client, **fields):
    answer = post(client, INITIALIZE, initialize_body(**fields))
    assert answer.status_code == 200, answer.content
    return answer


def buttons_of(answer, draft: Draft) -> set[str]:
    return {cid.split(":")[0] for cid in component_ids(answer) if cid.endswith(f":{draft.pk}")} - {"reason"}


def test_a_reviewer_sees_each_held_draft_with_its_facts_and_buttons(client, held, reviewer):
    Draft.objects.filter(pk=held.pk).update(flag_customer_replied=True, flag_attachments=True)
    answer = panel(client)
    assert texts(answer, "header") == [canvas.plain(held.subject)]
    assert "To customer@example.com" in texts(answer)
    [facts] = [text for text in texts(answer, "muted") if text.startswith("waiting ")]
    assert "flags: customer replied, attachments" in facts
    assert buttons_of(answer, held) == BUTTONS
    [open_button] = [c for c in components(answer) if c.get("id") == f"open:{held.pk}"]
    assert open_button["action"] == {"type": "url", "url": f"{SITE}/queue/drafts/{held.pk}/"}
    [reason] = [c for c in components(answer) if c["type"] == "textarea"]
    assert reason["id"] == f"reason:{held.pk}" and "error" not in reason
    stored = answer.json()["canvas"]["stored_data"]
    assert stored == {"conversation_id": "c_7", "shown": {str(held.pk): held.latest_snapshot_id}}
    assert held.latest_snapshot_id is not None


def test_the_first_lines_of_the_body_are_shown_and_what_the_draft_says_is_never_markdown(client, db, reviewer):
    lookalike = "Restore it here: [fernhill.example](https://fernhi1l-returns.example/giftcards) **now**"
    received_draft(conversation_id="c_7", markdown=f"Hi Cleo,\n\n{lookalike}\n\nline three\nline four")
    answer = panel(client)
    [body] = [text for text in texts(answer, "paragraph") if text.startswith("Hi Cleo")]
    assert body == (
        r"Hi Cleo, Restore it here: \[fernhill.example\]\(https://fernhi1l-returns.example/giftcards\) \*\*now\*\* "
        "line three"
    )


def test_a_long_body_is_cut(client, db, reviewer):
    received_draft(conversation_id="c_7", markdown="word " * 200)
    [body] = [text for text in texts(panel(client), "paragraph") if text.startswith("word")]
    assert len(body) == 280 and body.endswith("…")


def test_a_claim_shows_who_holds_it(client, held, reviewer, django_user_model):
    from reviewqueue.review.claims import draft_claim

    other = make_user(django_user_model, "tom", "reviewer")
    draft_claim(draft=held, reviewer=other)
    [facts] = [text for text in texts(panel(client), "muted") if text.startswith("waiting ")]
    assert "claimed by tom" in facts


def test_decided_drafts_of_the_conversation_are_one_muted_line_each(client, db, reviewer, broker):
    decided = received_draft("em_2", conversation_id="c_7", subject="Your refund")
    draft_decide(draft=decided, reviewer=reviewer, action="reject", reason="Wrong amount", origin="web")
    received_draft("em_3", conversation_id="c_7", subject="Old news", status=Draft.Status.DECIDED_ELSEWHERE,
                   email_status="approved_and_sent")  # fmt: skip
    answer = panel(client)
    muted = texts(answer, "muted")
    assert any(text.startswith("«Your refund»: rejected by rita, ") and text.endswith(" UTC") for text in muted)
    assert canvas.plain("«Old news»: decided in MultiMail (approved_and_sent)") in muted
    assert not [c for c in components(answer) if c["type"] in ("button", "textarea")]  # nothing held: no buttons


def test_nothing_held_says_so(client, db, reviewer):
    received_draft("em_9", conversation_id="c_other")  # another conversation's draft is not shown
    answer = panel(client)
    assert texts(answer) == ["Nothing held for this conversation"]
    assert answer.json()["canvas"]["stored_data"] == {"conversation_id": "c_7", "shown": {}}


def test_the_teammate_is_the_reviewer_with_their_email_in_any_case(client, held, reviewer):
    answer = panel(client, teammate=admin("RITA@Example.COM"))
    assert buttons_of(answer, held) == BUTTONS


# --- Teammates who may not decide: a panel that says so, and no buttons.


def no_buttons(answer) -> bool:
    return not [c for c in components(answer) if c["type"] in ("button", "textarea")]


@pytest.mark.parametrize(
    ("email", "says"),
    [
        (
            "nobody@example.com",
            "Your Intercom email (nobody@example.com) is not that of an active person in reviewqueue.",
        ),
        ("", "Your Intercom email (no email) is not that of an active person in reviewqueue."),
        ("otto@example.com", "You do not have the reviewer role in reviewqueue."),
        ("ada@example.com", "You do not have the reviewer role in reviewqueue."),
    ],
)
def test_an_unmapped_teammate_or_one_without_a_role_sees_why_and_no_drafts(
    client, held, reviewer, outsider, admin_user, email, says
):
    answer = panel(client, teammate=admin(email))
    assert no_buttons(answer)
    assert texts(answer) == [canvas.plain(says)]
    assert answer.json()["canvas"]["stored_data"]["shown"] == {}


def test_an_inactive_reviewer_is_nobody(client, held, reviewer):
    reviewer.is_active = False
    reviewer.save()
    answer = panel(client)
    assert no_buttons(answer) and "is not that of an active person" in texts(answer)[0]


def test_two_people_with_the_teammates_email_are_nobody(client, held, reviewer, django_user_model):
    twin = make_user(django_user_model, "rita2", "reviewer")
    django_user_model.objects.filter(pk=twin.pk).update(email="Rita@example.com")
    assert no_buttons(panel(client))


def test_an_auditor_sees_the_drafts_without_buttons(client, held, auditor):
    answer = panel(client, teammate=admin("aldo@example.com"))
    assert no_buttons(answer)
    assert texts(answer, "header") == [canvas.plain(held.subject)]
    assert "that needs the reviewer role" in texts(answer, "muted")[0]


def test_the_panels_queries_do_not_grow_with_the_drafts_it_lists(client, db, reviewer, broker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviewqueue.oversight.compliance import facts_forget

    def queries() -> int:
        # Each count from the same state: oversight's compliance facts (read once per page, memoised
        # seconds) would otherwise be counted in the first and not the second.
        facts_forget()
        with CaptureQueriesContext(connection) as captured:
            panel(client)
        return len(captured.captured_queries)

    def decided_draft(n: int) -> None:
        draft = received_draft(f"em_d{n}", conversation_id="c_7")
        draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="web")

    received_draft("em_h0", conversation_id="c_7")
    decided_draft(0)
    few = queries()
    for n in range(1, 5):
        received_draft(f"em_h{n}", conversation_id="c_7")
        decided_draft(n)
    assert queries() == few
