"""Redis (broker and cache) restarted empty: queued tasks are gone, and for a while nothing answers.

Must hold: a reviewer can still decide while Redis is down (the decision is durable in PostgreSQL
before anything leaves), no decision is lost (the sweeper re-drives outbox rows whose broker
message vanished), none is carried out twice.
"""

import time

from tests.faults.conftest import assert_no_decision_lost_or_doubled, decide_all, drafts_arrive


def test_decisions_survive_redis_restarted_and_flushed(stack):
    stack.start(workers=1, concurrency=4)
    token = stack.reviewer_token()
    drafts = drafts_arrive(stack, 6)
    first, second = dict(list(drafts.items())[:3]), dict(list(drafts.items())[3:])

    # Decisions queued for a worker that is not there; then Redis loses them all.
    stack.system.processes["worker0"].stop()
    stack.system.processes.pop("worker0")
    decided = decide_all(stack, token, first)
    stack.redis.process.kill()

    # Redis down: deciding must still work.
    decided |= decide_all(stack, token, second)

    stack.redis.restart()
    time.sleep(1)
    stack.system.start_worker(name="worker0", concurrency=4)

    assert_no_decision_lost_or_doubled(stack, decided, timeout=180)


def test_a_decision_taken_while_redis_is_down_is_answered_as_taken(stack):
    """The decision is committed before its outbox message is queued; a broker that is down must not
    turn that into a 500 (a reviewer's retry would then get 409 for a decision they were told failed).
    The sweeper queues the lost message once Redis is back."""
    stack.start(workers=1, concurrency=4)
    token = stack.reviewer_token()
    (email_id, draft_id), *_ = drafts_arrive(stack, 1).items()
    with stack.driver.api(token) as api:
        snapshot_id = api.get(f"/drafts/{draft_id}").json()["latest_snapshot_id"]
        stack.redis.process.kill()
        response = api.post(f"/drafts/{draft_id}/decision", json={"action": "approve", "snapshot_id": snapshot_id})
        read_back = api.get(f"/drafts/{draft_id}")
        intake = api.post("/drafts", json={})
    assert response.status_code == 201, response.text
    # Whatever needs Redis answers 503 with Retry-After while it is down; nothing answers 500.
    assert read_back.status_code in (200, 503), read_back.text
    assert intake.status_code in (400, 401, 503), intake.text

    stack.redis.restart()
    assert_no_decision_lost_or_doubled(stack, {email_id: "approve"}, timeout=180)
