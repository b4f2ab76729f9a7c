"""MultiMail and Intercom failing: 20 % of their API calls answered 500, and every call stalled 5 s
for a while, as decisions are made and carried out.

Must hold: no decision lost, none carried out twice, every draft eventually decided (its decision
reached MultiMail) or visibly failed, and the Intercom notes follow (written or visibly failed).
"""

import time

from tests.faults.conftest import assert_no_decision_lost_or_doubled, decide_all, drafts_arrive
from tests.livesystem import wait_for


def test_decisions_survive_errors_and_stalls_at_both_vendors(stack):
    stack.start(workers=1, concurrency=4, multimail_args=["--error-rate", "0.2"], intercom_args=["--error-rate", "0.2"])
    token = stack.reviewer_token()
    drafts = drafts_arrive(stack, 6)

    stack.driver.multimail_knobs(latency_ms=5000)
    stack.driver.intercom_knobs(latency=5.0)
    decided = decide_all(stack, token, drafts)
    time.sleep(12)  # the workers carry decisions out into 5-second stalls
    stack.driver.multimail_knobs(latency_ms=0)
    stack.driver.intercom_knobs(latency=0)

    assert_no_decision_lost_or_doubled(stack, decided, timeout=240)
    emails = sorted(decided)

    def notes_settled():
        rows = stack.query(
            "SELECT o.status FROM review_outboxitem o JOIN review_draft d ON d.id = o.draft_id "
            "WHERE o.kind = 'intercom_note' AND d.email_id = ANY(%s)",
            (emails,),
        )
        return rows if rows and all(status in ("done", "failed") for (status,) in rows) else None

    notes = wait_for(notes_settled, timeout=120, what="the Intercom notes are written or visibly failed")
    assert len(notes) == len(emails)
