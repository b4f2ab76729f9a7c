"""A Celery worker killed (SIGKILL, the whole process group) while it carries decisions out to a
slow MultiMail, then started again.

Must hold: no decision lost (each is carried out after the restart: the sweeper re-drives items
whose lease lapsed), and none carried out twice (a decide that reached MultiMail before the kill
is reconciled by reading the email back, never sent again).
"""

from tests.faults.conftest import assert_no_decision_lost_or_doubled, decide_all, drafts_arrive
from tests.livesystem import wait_for


def test_decisions_survive_a_worker_killed_mid_task(stack):
    stack.start(workers=1, concurrency=4)
    token = stack.reviewer_token()
    drafts = drafts_arrive(stack, 6)

    stack.driver.multimail_knobs(latency_ms=3000)  # each decide is in flight for 3 s
    decided = decide_all(stack, token, drafts)

    def decides_running():
        rows = stack.query("SELECT count(*) FROM review_outboxitem WHERE kind = 'decide' AND status = 'running'")
        return rows[0][0] > 0

    wait_for(decides_running, timeout=30, what="a decide is in flight", interval=0.1)
    stack.system.processes["worker0"].kill()
    stack.driver.multimail_knobs(latency_ms=0)
    stack.system.processes.pop("worker0")
    stack.system.start_worker(name="worker0", concurrency=4)

    # The killed items' leases (150 s) must lapse before the sweeper may run them again.
    assert_no_decision_lost_or_doubled(stack, decided, timeout=300)
