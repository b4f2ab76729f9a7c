"""PostgreSQL restarted (immediate stop: every connection cut, as in a crash) in the middle of the flow.

Must hold: the web processes and workers reconnect by themselves; every decision confirmed to the
reviewer survives; the ones in flight are carried out once the database is back; none twice.
"""

import time

from tests.faults.conftest import assert_no_decision_lost_or_doubled, decide_all, drafts_arrive


def test_decisions_survive_postgres_restarted(stack):
    stack.start(workers=1, concurrency=4)
    token = stack.reviewer_token()
    drafts = drafts_arrive(stack, 6)
    first, second = dict(list(drafts.items())[:3]), dict(list(drafts.items())[3:])

    stack.driver.multimail_knobs(latency_ms=1500)  # decisions are in flight when the database goes
    decided = decide_all(stack, token, first)
    stack.postgres.restart(down_for=3)
    stack.driver.multimail_knobs(latency_ms=0)
    time.sleep(1)

    decided |= decide_all(stack, token, second, timeout=90)  # retried until the web answers again
    assert_no_decision_lost_or_doubled(stack, decided, timeout=240)
